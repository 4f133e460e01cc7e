"""Wrapping mixed Chinese and English text for a terminal.

:func:`textwrap.fill` breaks only at spaces and counts every character as one column, so a
Chinese answer (no spaces, each character two columns wide) runs past the edge and the
terminal cuts it anywhere, and English words get split mid-word. Here a line may break
between any two Chinese characters or at a space, never inside an English word, and never
right before closing punctuation such as "，" or "）".

>>> fill("剪枝（Pruning）的基本原理", 12)
'剪枝\\n（Pruning）\\n的基本原理'
>>> display_width("剪枝 ok")
7
"""
from __future__ import annotations

import re
import unicodedata

#: characters that may not start a line (they close what comes before them)
CLOSING = set("，。；：、！？）》」』”’,.;:!?)]")
#: characters that may not end a line (they open what comes after them)
OPENING = set("（《「『“‘([")
#: a wide character, a run of other non-space characters, or a run of spaces
_WIDE = "\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f"  # CJK ideographs, full-width forms, CJK punctuation
_TOKEN = re.compile(f"[{_WIDE}]|[^\\s{_WIDE}]+|\\s+")


def display_width(text: str) -> int:
    """Terminal columns that ``text`` takes: 2 for East Asian wide and full-width characters, else 1."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def fill(text: str, width: int, indent: str = "") -> str:
    """Wrap one paragraph to ``width`` columns; every line after the first starts with ``indent``.

    Leading spaces of ``text`` are kept. A single word wider than the line is kept whole (it
    overflows rather than being split); so is a run of words with no allowed break between them.
    """
    if width < display_width(indent) + 2:
        raise ValueError(f"width={width} is too narrow for the indent {indent!r}; it must be at least "
                         f"{display_width(indent) + 2}")
    lead = text[:len(text) - len(text.lstrip())]
    lines, pieces, space = [], [], False  # pieces of the current line: (gap, token)

    def used(pieces) -> int:
        return display_width(lead if not lines else indent) + sum(display_width(g + t) for g, t in pieces)

    for token in _TOKEN.findall(text[len(lead):]):
        if token.isspace():
            space = bool(pieces)
            continue
        pieces.append((" " if space else "", token))
        space = False
        if used(pieces) <= width or len(pieces) == 1:
            continue
        # too wide: break before this token, but keep closing marks off the next line's start and
        # opening marks off this line's end, by moving the pieces they cling to along with them
        cut = len(pieces) - 1
        while cut > 1 and (pieces[cut][1][0] in CLOSING or pieces[cut - 1][1][-1] in OPENING):
            cut -= 1
        lines.append((lead if not lines else indent) + "".join(g + t for g, t in pieces[:cut]))
        pieces = [("", pieces[cut][1])] + pieces[cut + 1:]
    lines.append((lead if not lines else indent) + "".join(g + t for g, t in pieces))
    return "\n".join(lines)


def fill_lines(text: str, width: int) -> str:
    """Wrap every line of ``text``, continuing each under its own indent (and after a ``- `` bullet)."""
    out = []
    for line in text.splitlines():
        lead = re.match(r"\s*(?:- )?", line).group(0)
        out.append(fill(line, width, " " * len(lead)) if line.strip() else line)
    return "\n".join(out)
