# One job per particle batch (reading from as many stacks as its rows reference), one per
# map, each a process of its own (maskrun.workflow.unit_process: it masks with forked
# workers, as `maskrun mask` does), and a cheap local gather that writes the output
# metadata and the run record. A unit's params hold the job as it resolves (Job.recipe) and the code
# that masks it (code_stamp): Snakemake redoes a unit done for another version of the job, or by
# another maskrun, whatever the job file's modification time says.


localrules:
    all,
    gather,


rule mask_batch:
    input:
        lambda wc: unit_inputs(PLAN, wc.unit),
    params:
        stacks=lambda wc: stacks_stamp(PLAN, wc.unit),
        job=PLAN.job.recipe_sha256,
        code=CODE,
    output:
        stack=f"{OUT}/stacks/{{unit}}.mrcs",
        record=f"{OUT}/provenance/{{unit}}.json",
    log:
        f"{OUT}/logs/{{unit}}.log",
    wildcard_constraints:
        unit=r"batch_\d+",
    threads: lambda wc: unit_threads(PLAN, local_cores())
    resources:
        mem_mb=lambda wc: unit_mem_mb(PLAN, wc.unit),
        runtime=lambda wc: unit_runtime_minutes(PLAN, wc.unit),
    run:
        run_unit_process(PLAN, wildcards.unit, threads)


rule mask_map:
    input:
        lambda wc: unit_inputs(PLAN, f"map_{wc.stem}"),
    params:
        job=PLAN.job.recipe_sha256,
        code=CODE,
    output:
        volume=f"{OUT}/volumes/{{stem}}.mrc",
        record=f"{OUT}/provenance/map_{{stem}}.json",
    log:
        f"{OUT}/logs/map_{{stem}}.log",
    threads: lambda wc: unit_threads(PLAN, local_cores())
    resources:
        mem_mb=lambda wc: unit_mem_mb(PLAN, f"map_{wc.stem}"),
        runtime=lambda wc: unit_runtime_minutes(PLAN, f"map_{wc.stem}"),
    run:
        run_unit_process(PLAN, f"map_{wildcards.stem}", threads)


rule gather:
    input:
        unit_outputs(),
    output:
        **gather_outputs(),
    log:
        f"{OUT}/logs/gather.log",
    threads: 1
    resources:
        mem_mb=400,
        runtime=5,
    run:
        gather_logged(PLAN, log[0])
