"""Griffe extension: document the compiled core from its stubs and its docstrings.

The operations are Cython functions (``autograd._core.ops.add``...) that
``autograd.functions`` re-exports by assignment (``add = _ops.add``). Read
statically, such a line is a plain attribute with no docstring, and a compiled
module read by inspection has no annotations. This extension, run once the
``autograd`` package is loaded:

1. merges each ``autograd/_core/*.pyi`` stub into its compiled module, so the
   signatures carry the stub's annotations and defaults;
2. gives each compiled function the docstring Cython compiled into it, less the
   signature line that ``embedsignature`` puts first (the page shows the signature);
3. turns every ``name = _module.name`` re-export of a compiled function in a
   Python module into an alias of that function, so it is documented where users
   find it (``autograd.functions.add``);
4. fences every doctest block (``>>>`` lines and their output) of every docstring
   as a ``pycon`` code block, so that printed values such as ``variable[2]([1 2])``
   are shown as code, not read as Markdown links.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

import griffe

_SIGNATURE_LINE = re.compile(r"^\s*[A-Za-z_][\w.]*\(.*\)(\s*->\s*.+)?\s*$")


def _strip_signature(doc: str | None, name: str) -> str | None:
    if not doc:
        return doc
    first, _, rest = doc.partition("\n")
    if first.strip().startswith(name + "(") and _SIGNATURE_LINE.match(first):
        return rest.strip("\n")
    return doc


class CompiledCore(griffe.Extension):
    """Stubs, docstrings and re-exports of ``autograd._core`` (see the module docstring)."""

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        if pkg.name != "autograd":
            return
        core = pkg.members.get("_core")
        if isinstance(core, griffe.Module):
            for module in list(core.members.values()):
                if isinstance(module, griffe.Module):
                    self._document_compiled(module, loader)
        self._alias_reexports(pkg)
        self._fence_doctests(pkg, loader, set())

    def _document_compiled(self, module: griffe.Module, loader: griffe.GriffeLoader) -> None:
        filepath = module.filepath
        if not isinstance(filepath, Path) or filepath.suffix != ".so":
            return
        stub = filepath.parent / (module.name + ".pyi")
        if stub.exists():
            stubs = griffe.visit(
                module.path,
                filepath=stub,
                code=stub.read_text(),
                parent=module.parent,
                docstring_parser=loader.docstring_parser,
                modules_collection=griffe.ModulesCollection(),
            )
            griffe.merge_stubs(module, stubs)
        runtime = importlib.import_module(module.path)
        for name, member in module.members.items():
            if member.is_alias:
                continue
            obj = getattr(runtime, name, None)
            # inspection labels a Cython function a "method descriptor": it is a plain function
            member.labels.discard("method descriptor")
            if isinstance(member, griffe.Function) and obj is not None:
                self._set_docstring(
                    member, _strip_signature(getattr(obj, "__doc__", None), name), loader
                )
            elif isinstance(member, griffe.Class) and obj is not None:
                for mname, meth in member.members.items():
                    if isinstance(meth, griffe.Function) and not meth.is_alias:
                        robj = getattr(obj, mname, None)
                        self._set_docstring(
                            meth, _strip_signature(getattr(robj, "__doc__", None), mname), loader
                        )
                if not member.docstring and obj.__doc__:
                    self._set_docstring(member, _strip_signature(obj.__doc__, name), loader)

    @staticmethod
    def _set_docstring(obj: griffe.Object, text: str | None, loader: griffe.GriffeLoader) -> None:
        if text and text.strip():
            obj.docstring = griffe.Docstring(
                text,
                parent=obj,
                parser=loader.docstring_parser,
                parser_options=loader.docstring_options,
            )

    def _alias_reexports(self, module: griffe.Module) -> None:
        for name, member in list(module.members.items()):
            if member.is_alias:
                continue
            if isinstance(member, griffe.Module):
                if member.name != "_core":
                    self._alias_reexports(member)
                continue
            if not isinstance(member, griffe.Attribute):
                continue
            target = self._reexport_target(module, member)
            if target is not None:
                alias = griffe.Alias(
                    name, target, lineno=member.lineno, endlineno=member.endlineno, parent=module
                )
                module.set_member(name, alias)

    @staticmethod
    def _reexport_target(module: griffe.Module, attribute: griffe.Attribute) -> str | None:
        # `add = _ops.add`: the value is the expression `_ops.add`, `_ops` an import alias
        value = attribute.value
        if not isinstance(value, griffe.ExprAttribute):
            return None
        parts = str(value).split(".")
        if len(parts) != 2:
            return None
        base = module.members.get(parts[0])
        if base is None or not base.is_alias:
            return None
        target = f"{base.target_path}.{parts[1]}"
        return target if target.startswith("autograd._core.") else None

    def _fence_doctests(
        self, obj: griffe.Object, loader: griffe.GriffeLoader, seen: set[str]
    ) -> None:
        if obj.path in seen:
            return
        seen.add(obj.path)
        if obj.docstring is not None:
            fenced = fence_doctests(obj.docstring.value)
            if fenced != obj.docstring.value:
                self._set_docstring(obj, fenced, loader)
        for member in obj.members.values():
            if not member.is_alias and isinstance(member, griffe.Object):
                self._fence_doctests(member, loader, seen)


_STRUCTURED = {
    "Parameters",
    "Other Parameters",
    "Returns",
    "Yields",
    "Receives",
    "Raises",
    "Warns",
    "Attributes",
    "Methods",
    "Functions",
    "Classes",
    "Modules",
}


def fence_doctests(text: str) -> str:
    """Wrap each doctest block of ``text`` (from ``>>>`` to the next blank line) in a fence,
    except in a NumPy-style ``Examples`` section, whose doctests griffe's parser reads."""
    out: list[str] = []
    lines = text.split("\n")
    i = 0
    in_fence = False
    section = ""  # the NumPy-style section the line is in ("Parameters", "Examples", ...)
    while i < len(lines):
        line = lines[i]
        stripped = line.lstrip()
        underline = lines[i + 1].strip() if i + 1 < len(lines) else ""
        if stripped and underline and set(underline) == {"-"}:
            section = stripped.rstrip()
        if stripped.startswith("```"):
            in_fence = not in_fence
        if not in_fence and stripped.startswith(">>>") and section in _STRUCTURED:
            # a doctest after a list of parameters, returns...: griffe would read its lines
            # as more entries; it starts an Examples section instead
            indent = line[: len(line) - len(stripped)]
            out += [indent + "Examples", indent + "--------"]
            section = "Examples"
        if in_fence or section in ("Examples", "Example") or not stripped.startswith(">>>"):
            out.append(line)
            i += 1
            continue
        indent = line[: len(line) - len(stripped)]
        out.append(indent + "```pycon")
        while i < len(lines) and lines[i].strip():
            out.append(lines[i])
            i += 1
        out.append(indent + "```")
    return "\n".join(out)
