"""maskrun's version, in a module of its own.

Modules that stamp it on what they write (MRC labels, the run record) import it from here,
not from the package face, whose names are the public API and import that API on use.
"""

__version__ = "0.1.0"
