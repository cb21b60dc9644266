"""Particle sets and map listings, one module per format, listed in `maskrun.formats.registry`.

Between the file syntaxes and image headers (`maskrun.io`) and the jobs that plan and run
the masking (`maskrun.jobs`): a format module turns its file into a `ParticleSet` (or a
`VolumeSet`) and writes the masked set back in its own form.
"""
