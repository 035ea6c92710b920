"""qakb: a static-site Q&A knowledge base with in-browser semantic search.

This file must stay standard-library only: the browser imports the package
(for `qakb.engine`) inside Pyodide, where nothing else exists.
"""

__version__ = "0.1.0"
