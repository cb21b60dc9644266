# The report of a finished job: sampled particles (or map slices) before and after, the mask's
# radial profile, warnings, in <output>/report/; the figures also go to `snakemake --report`.


localrules:
    report,


rule report:
    input:
        record=str(PLAN.run_record_path),
    output:
        html=f"{OUT}/report/report.html",
        data=report(report_figures(PLAN)["data"], caption="../report/data.rst", category="masking"),
        profile=report(report_figures(PLAN)["profile"], caption="../report/profile.rst", category="masking"),
    log:
        f"{OUT}/logs/report.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    run:
        report_logged(PLAN, log[0])
