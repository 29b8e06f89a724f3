"""Sphinx configuration of the jinduanalytics documentation.

Build with ``python docs/build.py`` (it stages the pages, the executed notebooks, the generated API
reference, data model and benchmark pages, then runs Sphinx with warnings as errors).
"""

import jinduanalytics

project = "jinduanalytics"
author = "jinduanalytics developers"
copyright = "2026, jinduanalytics developers (all data synthetic)"
release = jinduanalytics.__version__
version = release

extensions = [
    "myst_nb",               # Markdown pages and the notebooks (rendered with their stored outputs)
    "sphinx.ext.autodoc",
    "numpydoc",              # the docstrings are numpydoc; it also validates them (numpydoc_validation_checks)
    "sphinx.ext.mathjax",
]

root_doc = "index"
exclude_patterns = ["_build", "**.ipynb_checkpoints", "README.md"]  # README.md: included by getting-started
source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb"}
language = "en"

# broken references fail the build: every :func:/:class:/{ref} must resolve (no intersphinx: the build is offline)
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(pa|pyarrow|pd|pandas|np|numpy|nx|networkx|igraph|matplotlib|plt|numba|scipy)\..*"),
]

# autodoc: types are in the numpydoc Parameters/Returns sections, not repeated from the annotations
autodoc_typehints = "none"
autodoc_member_order = "bysource"

numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
# a docstring whose Parameters section disagrees with the signature fails the build
numpydoc_validation_checks = {"PR01", "PR02", "PR03", "GL08"}


def _dataclasses_with_attributes():
    """Data classes document their fields under Attributes (numpydoc checks Parameters): they are
    left out of the Parameters check when their Attributes section names every field, and fail it
    (field by field) when it does not."""
    import dataclasses
    import importlib
    import inspect
    import pkgutil
    import re

    from numpydoc.docscrape import NumpyDocString

    names = set()
    modules = ["jinduanalytics"] + [m.name for m in pkgutil.walk_packages(jinduanalytics.__path__, "jinduanalytics.")]
    for module in modules:
        if any(part.startswith("_") for part in module.split(".")[1:]):
            continue
        mod = importlib.import_module(module)
        for name in getattr(mod, "__all__", []):
            obj = getattr(mod, name)
            if inspect.isclass(obj) and dataclasses.is_dataclass(obj):
                documented = {n.strip() for a in NumpyDocString(inspect.getdoc(obj) or "")["Attributes"]
                              for n in a.name.split(",")}
                if {f.name for f in dataclasses.fields(obj) if f.init} <= documented:
                    names.add(rf"\.{re.escape(obj.__name__)}$")
    return names


numpydoc_validation_exclude = {r"\.__init__$", r"\.__call__$"} | _dataclasses_with_attributes()

# the notebooks arrive executed (docs/build.py runs them); never execute during the Sphinx build
nb_execution_mode = "off"
nb_render_image_options = {"width": "100%"}
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

html_theme = "pydata_sphinx_theme"
html_title = f"jinduanalytics {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_static_path = ["_static"]
html_css_files = ["jindu.css"]
html_show_sourcelink = False


# --- references to an object by any public path --------------------------------------------
# An object is documented once, where the API reference lists it (jinduanalytics.case_graph), but a
# docstring may name it by another public path (jinduanalytics.graph.case_graph). Such a reference
# resolves when both paths import the same object; anything else stays a broken reference (-W fails).
import importlib  # noqa: E402
import inspect  # noqa: E402

_MISSING = object()


def _import(dotted):
    """What ``dotted`` names in Python: attributes first (``jinduanalytics.community.consensus`` is the
    function the package exports, not its module), submodules where there is no such attribute."""
    parts = dotted.split(".")
    try:
        obj = importlib.import_module(parts[0])
    except ImportError:
        return _MISSING
    for i, part in enumerate(parts[1:], start=2):
        nxt = getattr(obj, part, _MISSING)
        if nxt is _MISSING and inspect.ismodule(obj):
            try:
                nxt = importlib.import_module(".".join(parts[:i]))
            except ImportError:
                return _MISSING
        if nxt is _MISSING:
            return _MISSING
        obj = nxt
    return obj


def _documented(env):
    cache = getattr(env, "_jindu_documented", None)
    if cache is None:
        cache = {}
        for name in env.get_domain("py").objects:
            obj = _import(name)
            if obj is not _MISSING:
                cache.setdefault(id(obj), name)
        env._jindu_documented = cache
    return cache


def _resolve_alias(app, env, node, contnode):
    target = node.get("reftarget", "")
    if node.get("refdomain") != "py" or not target.startswith("jinduanalytics"):
        return None
    obj = _import(target)
    name = _documented(env).get(id(obj)) if obj is not _MISSING else None
    if name is None or name == target:
        return None
    return env.get_domain("py").resolve_xref(env, node["refdoc"], app.builder, node["reftype"], name, node, contnode)


def _drop_type_docstring(app, what, name, obj, options, lines):
    """A constant without a ``#:`` comment of its own would show its type's docstring ("Built-in
    immutable sequence ..." for a tuple): show nothing rather than that."""
    doc = inspect.getdoc(type(obj))
    if what == "data" and lines and doc and lines[0].strip() == doc.splitlines()[0].strip():
        lines.clear()


def setup(app):
    app.connect("missing-reference", _resolve_alias)
    app.connect("autodoc-process-docstring", _drop_type_docstring, priority=100)  # before numpydoc
