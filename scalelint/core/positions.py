"""Source spans for the nodes a file reports or fixes, computed lazily.

LibCST nodes carry no positions. Instead of ``MetadataWrapper`` (which copies
the whole tree) we run one code generation pass that records, for every node,
its character span: the syntactic span (for messages) and the span including
owned whitespace (for edits). It runs only for files that report something;
a part of the file (one function) can be placed alone when its code occurs
once in the file (``Positions.of_part``).
"""
from __future__ import annotations


import libcst as cst
from libcst._nodes.internal import CodegenState

from scalelint.core.lines import LineIndex


class _SpanState(CodegenState):
    __slots__ = ("offset", "stack", "inclusive", "syntactic")

    def __init__(self, module: cst.Module) -> None:
        super().__init__(default_indent=module.default_indent, default_newline=module.default_newline)
        self.offset = 0
        self.stack: list[int] = []
        self.inclusive: dict[int, tuple[int, int]] = {}
        self.syntactic: dict[int, tuple[int, int]] = {}

    def add_indent_tokens(self) -> None:
        for token in self.indent_tokens:
            self.offset += len(token)
        self.tokens.extend(self.indent_tokens)

    def add_token(self, value: str) -> None:
        self.tokens.append(value)
        self.offset += len(value)

    def before_codegen(self, node: cst.CSTNode) -> None:
        self.stack.append(self.offset)

    def after_codegen(self, node: cst.CSTNode) -> None:
        start = self.stack.pop()
        self.inclusive[id(node)] = (start, self.offset)

    def record_syntactic_position(
        self,
        node: cst.CSTNode,
        *,
        start_node: cst.CSTNode | None = None,
        end_node: cst.CSTNode | None = None,
    ) -> "_Syntactic":
        # a plain context manager object, not @contextmanager: LibCST enters one
        # per node, and a generator-based one costs several times more
        return _Syntactic(self, node, start_node, end_node)


class _Syntactic:
    """Records the syntactic span of ``node`` around its code generation."""

    __slots__ = ("state", "node", "start_node", "end_node", "start")

    def __init__(self, state: _SpanState, node: cst.CSTNode, start_node: cst.CSTNode | None,
                 end_node: cst.CSTNode | None) -> None:
        self.state = state
        self.node = node
        self.start_node = start_node
        self.end_node = end_node
        self.start = 0

    def __enter__(self) -> None:
        self.start = self.state.offset

    def __exit__(self, *exc: object) -> None:
        state = self.state
        start, end = self.start, state.offset
        if self.start_node is not None:
            key = id(self.start_node)
            start = state.syntactic.get(key, state.inclusive.get(key, (start,)))[0]
        if self.end_node is not None:
            key = id(self.end_node)
            end = state.syntactic.get(key, state.inclusive.get(key, (0, end)))[1]
        state.syntactic[id(self.node)] = (start, end)


class Positions:
    """Spans of every node of one module, plus offset <-> line/column maps."""

    def __init__(self, module: cst.Module, text: str, lines: LineIndex | None = None) -> None:
        state = _SpanState(module)
        module._codegen(state)
        self._inclusive = state.inclusive
        self._syntactic = state.syntactic
        self._keep = module  # node ids are only valid while the tree lives
        self.text = text
        self._lines = lines or LineIndex(text)

    @classmethod
    def of_part(cls, module: cst.Module, text: str, part: cst.CSTNode, indent: str,
                lines: LineIndex | None = None, at: int | None = None) -> "Positions | None":
        """Spans of the nodes of ``part`` (a statement indented by ``indent``)
        alone, the same the whole-module pass gives them; None unless the
        part's code, generated with that indentation, is in ``text`` where
        ``at`` (the offset where the part's own syntax starts, when known)
        puts it, or else occurs exactly once in ``text``. Nodes outside the
        part are not in it."""
        state = _SpanState(module)
        state.indent_tokens.append(indent)
        part._codegen(state)
        code = "".join(state.tokens)
        if not code:
            return None
        start = -1
        if at is not None:  # pinned: the code must be right there (no search, repeats are fine)
            own = state.syntactic.get(id(part)) or state.inclusive[id(part)]
            pinned = at - own[0]
            start = pinned if pinned >= 0 and text.startswith(code, pinned) else -1
        if start < 0:
            start = text.find(code)
            if start < 0 or text.find(code, start + 1) >= 0:
                return None
        positions = cls.__new__(cls)
        positions._inclusive = {key: (a + start, b + start) for key, (a, b) in state.inclusive.items()}
        positions._syntactic = {key: (a + start, b + start) for key, (a, b) in state.syntactic.items()}
        positions._keep = part
        positions.text = text
        positions._lines = lines or LineIndex(text)
        return positions

    def has(self, node: cst.CSTNode) -> bool:
        return id(node) in self._inclusive

    def span(self, node: cst.CSTNode) -> tuple[int, int]:
        """Syntactic character span [start, end) of a node."""
        key = id(node)
        return self._syntactic.get(key) or self._inclusive[key]

    def full_span(self, node: cst.CSTNode) -> tuple[int, int]:
        """Span including the whitespace and comments the node owns."""
        return self._inclusive[id(node)]

    def line_col(self, offset: int) -> tuple[int, int]:
        """1-based line and 1-based column of a character offset."""
        return self._lines.line_col(offset)

    def line_start(self, line: int) -> int:
        return self._lines.line_start(line)

    def line_text(self, line: int) -> str:
        return self._lines.line_text(line)
