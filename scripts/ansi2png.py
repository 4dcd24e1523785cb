#!/usr/bin/env python3
"""Render a terminal capture with SGR colour codes (e.g. `tmux capture-pane -e -p`) to a PNG.

Usage: ansi2png.py INPUT.ansi OUTPUT.png [--cols N] [--rows N] [--font-size PX]

Understands SGR attributes (bold, dim, italic, underline, reverse, strike) and
16 / 256 / truecolour foreground and background; every other escape sequence is
skipped. Text is laid out on a fixed cell grid (East-Asian wide chars take two
cells) and drawn with DejaVu Sans Mono.

Dependencies: Python 3, Pillow (Debian: python3-pil), DejaVu fonts
(Debian: fonts-dejavu-core; the oblique face from fonts-dejavu-extra is optional).
"""
import argparse
import os
import sys
import unicodedata

from PIL import Image, ImageDraw, ImageFont

FONT_DIR = "/usr/share/fonts/truetype/dejavu"
DEFAULT_FG = (212, 212, 212)
DEFAULT_BG = (30, 30, 30)
PADDING = 12

# xterm's default 16-colour palette.
PALETTE16 = [
    (0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0),
    (0, 0, 238), (205, 0, 205), (0, 205, 205), (229, 229, 229),
    (127, 127, 127), (255, 0, 0), (0, 255, 0), (255, 255, 0),
    (92, 92, 255), (255, 0, 255), (0, 255, 255), (255, 255, 255),
]


def xterm256(n):
    """RGB of xterm colour n (0-255): 16 system colours, 6x6x6 cube, 24 greys."""
    if n < 16:
        return PALETTE16[n]
    if n < 232:
        levels = (0, 95, 135, 175, 215, 255)
        n -= 16
        return levels[n // 36], levels[(n // 6) % 6], levels[n % 6]
    grey = 8 + 10 * (n - 232)
    return grey, grey, grey


class Style:
    """Current SGR state. Colours are RGB tuples, or None for the default."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.fg = self.bg = None
        self.bold = self.dim = self.italic = self.underline = False
        self.reverse = self.strike = False

    def copy(self):
        s = Style.__new__(Style)
        s.__dict__.update(self.__dict__)
        return s


def parse_extended_colour(params, i):
    """Parse the tail of 38/48 (5;N or 2;R;G;B) at params[i]; return (colour, next index)."""
    if i < len(params) and params[i] == 5 and i + 1 < len(params):
        return xterm256(params[i + 1] % 256), i + 2
    if i < len(params) and params[i] == 2 and i + 3 < len(params):
        r, g, b = (min(v, 255) for v in params[i + 1:i + 4])
        return (r, g, b), i + 4
    return None, len(params)  # malformed: ignore the rest


def to_int(s):
    return int(s) if s.isdigit() else 0


def apply_sgr(style, text):
    """Update style from the parameter text of one `CSI ... m` sequence."""
    groups = text.split(";")
    i = 0
    while i < len(groups):
        group = groups[i]
        i += 1
        if ":" in group:
            # Colon sub-parameters, e.g. 4:3 (curly underline) or 38:2::R:G:B.
            sub = [to_int(s) for s in group.split(":")]
            if sub[0] in (38, 48):
                rest = sub[1:]
                if len(rest) == 5 and rest[0] == 2:
                    rest = [2] + rest[2:]  # drop the colour-space id
                colour, _ = parse_extended_colour(rest, 0)
                setattr(style, "fg" if sub[0] == 38 else "bg", colour)
            elif sub[0] == 4:
                style.underline = sub[1] != 0
            continue
        p = to_int(group)
        if p == 0:
            style.reset()
        elif p == 1:
            style.bold = True
        elif p == 2:
            style.dim = True
        elif p == 3:
            style.italic = True
        elif p == 4:
            style.underline = True
        elif p == 7:
            style.reverse = True
        elif p == 9:
            style.strike = True
        elif p == 22:
            style.bold = style.dim = False
        elif p == 23:
            style.italic = False
        elif p == 24:
            style.underline = False
        elif p == 27:
            style.reverse = False
        elif p == 29:
            style.strike = False
        elif 30 <= p <= 37:
            style.fg = PALETTE16[p - 30]
        elif 90 <= p <= 97:
            style.fg = PALETTE16[p - 90 + 8]
        elif p == 39:
            style.fg = None
        elif 40 <= p <= 47:
            style.bg = PALETTE16[p - 40]
        elif 100 <= p <= 107:
            style.bg = PALETTE16[p - 100 + 8]
        elif p == 49:
            style.bg = None
        elif p in (38, 48, 58):  # 58 = underline colour: parsed, not drawn
            nums = [to_int(g) for g in groups]
            colour, i = parse_extended_colour(nums, i)
            if p == 38:
                style.fg = colour
            elif p == 48:
                style.bg = colour
        # anything else (blink, hidden, fonts, ...) is ignored


def char_width(ch):
    if unicodedata.combining(ch) or ch in "\u200b\u200d\ufe0f":
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def parse(data):
    """Turn the capture into a list of rows; each row is a list of cells.

    A cell is (text, style, width); the cell after a wide char is None.
    """
    rows = [[]]
    style = Style()
    i, n = 0, len(data)

    def put(ch):
        row = rows[-1]
        w = char_width(ch)
        if w == 0:
            if row:  # combining mark: attach to the previous character
                j = len(row) - 1
                while j > 0 and row[j] is None:
                    j -= 1
                text, st, cw = row[j]
                row[j] = (text + ch, st, cw)
            return
        row.append((ch, style.copy(), w))
        if w == 2:
            row.append(None)

    while i < n:
        ch = data[i]
        if ch == "\x1b":
            i += 1
            if i >= n:
                break
            kind = data[i]
            i += 1
            if kind == "[":  # CSI: parameters, intermediates, final byte
                start = i
                while i < n and not ("\x40" <= data[i] <= "\x7e"):
                    i += 1
                if i < n and data[i] == "m" and all(c in "0123456789;:" for c in data[start:i]):
                    apply_sgr(style, data[start:i])
                i += 1
            elif kind in "]PX^_":  # OSC/DCS/...: skip to BEL or ST
                while i < n and data[i] != "\x07" and data[i:i + 2] != "\x1b\\":
                    i += 1
                i += 1 if (i < n and data[i] == "\x07") else 2
            elif kind in "()*+#%":  # charset designation etc.: one more byte
                i += 1
            continue
        i += 1
        if ch == "\n":
            rows.append([])
        elif ch == "\t":
            for _ in range(8 - len(rows[-1]) % 8):
                put(" ")
        elif ch >= " " and ch != "\x7f":
            put(ch)
    if rows and not rows[-1]:
        rows.pop()
    return rows


def load_fonts(size):
    def font(name, fallback=None):
        path = os.path.join(FONT_DIR, name)
        if not os.path.exists(path):
            if fallback is not None:
                return fallback
            sys.exit(f"ansi2png: font not found: {path} (apt-get install fonts-dejavu-core)")
        return ImageFont.truetype(path, size)

    regular = font("DejaVuSansMono.ttf")
    bold = font("DejaVuSansMono-Bold.ttf")
    italic = font("DejaVuSansMono-Oblique.ttf", regular)
    bold_italic = font("DejaVuSansMono-BoldOblique.ttf", bold)
    return {(False, False): regular, (True, False): bold,
            (False, True): italic, (True, True): bold_italic}


def block_rect(ch, x, y, w, h):
    """Pixel box (x0, y0, x1, y1), exclusive, of a solid block element, or None."""
    o = ord(ch)

    def row(k):  # y of the k-th eighth line of the cell
        return y + round(h * k / 8)

    def col(k):
        return x + round(w * k / 8)

    if o == 0x2580:  # upper half
        return x, y, x + w, row(4)
    if 0x2581 <= o <= 0x2588:  # lower 1/8 .. full block
        return x, row(8 - (o - 0x2580)), x + w, y + h
    if 0x2589 <= o <= 0x258F:  # left 7/8 .. left 1/8
        return x, y, col(0x2590 - o), y + h
    if o == 0x2590:  # right half
        return col(4), y, x + w, y + h
    if o == 0x2594:  # upper 1/8
        return x, y, x + w, row(1)
    if o == 0x2595:  # right 1/8
        return col(7), y, x + w, y + h
    return None


def blend(a, b, t):
    return tuple(round(x * (1 - t) + y * t) for x, y in zip(a, b))


def render(rows, cols, rows_n, font_size):
    fonts = load_fonts(font_size)
    regular = fonts[(False, False)]
    ascent, descent = regular.getmetrics()
    cw = round(regular.getlength("M"))
    chh = ascent + descent
    width = 2 * PADDING + cols * cw
    height = 2 * PADDING + rows_n * chh
    img = Image.new("RGB", (width, height), DEFAULT_BG)
    draw = ImageDraw.Draw(img)

    def colours(st):
        fg = st.fg or DEFAULT_FG
        bg = st.bg or DEFAULT_BG
        if st.reverse:
            fg, bg = bg, fg
        if st.dim:
            fg = blend(fg, bg, 0.45)
        return fg, bg

    cells = []  # (x, y, w, text, style, fg, bg) for the glyph pass
    for r, row in enumerate(rows[:rows_n]):
        y = PADDING + r * chh
        for c, cell in enumerate(row[:cols]):
            if cell is None:
                continue
            text, st, w = cell
            x = PADDING + c * cw
            fg, bg = colours(st)
            if bg != DEFAULT_BG:
                draw.rectangle((x, y, x + w * cw - 1, y + chh - 1), fill=bg)
            cells.append((x, y, w, text, st, fg, bg))

    # Glyphs in a second pass so that slight glyph overhang is not painted over
    # by the next cell's background.
    for x, y, w, text, st, fg, bg in cells:
        rect = block_rect(text[0], x, y, cw * w, chh)
        if rect:
            draw.rectangle((rect[0], rect[1], rect[2] - 1, rect[3] - 1), fill=fg)
        elif text != " ":
            font = fonts[(st.bold, st.italic)]
            draw.text((x, y + ascent), text, font=font, fill=fg, anchor="ls")
        if st.underline:
            uy = y + ascent + max(1, descent // 3)
            draw.line((x, uy, x + w * cw - 1, uy), fill=fg)
        if st.strike:
            sy = y + ascent - round(ascent * 0.3)
            draw.line((x, sy, x + w * cw - 1, sy), fill=fg)
    return img


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("input", help="capture file with ANSI SGR codes ('-' for stdin)")
    ap.add_argument("output", help="PNG file to write")
    ap.add_argument("--cols", type=int, help="grid width (default: widest line)")
    ap.add_argument("--rows", type=int, help="grid height (default: number of lines)")
    ap.add_argument("--font-size", type=int, default=16, help="font size in px (default 16)")
    args = ap.parse_args()

    if args.input == "-":
        data = sys.stdin.buffer.read()
    else:
        with open(args.input, "rb") as f:
            data = f.read()
    rows = parse(data.decode("utf-8", errors="replace"))
    cols = args.cols or max((len(r) for r in rows), default=1)
    rows_n = args.rows or max(len(rows), 1)
    render(rows, cols, rows_n, args.font_size).save(args.output)


if __name__ == "__main__":
    main()
