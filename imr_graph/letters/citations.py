"""Read the "Claims Administrator guideline:" and "MAXIMUS guideline:" paragraphs into citations.

Pure functions over one folded paragraph. Conventions follow ../shared/gold/SCHEMA.md: one
Citation per guideline document, years as editions, ODG chapters kept as written.
"""

from __future__ import annotations

import re

from imr_graph.letters.citation_words import VERSION_WORDS as _VERSION_WORDS
from imr_graph.letters.citation_words import YEAR as _YEAR
from imr_graph.letters.citations_other import read_other
from imr_graph.letters.clean import join_lines
from kg.model import Citation

_BOILERPLATE = [
    r"The\s+(?:Claims\s+Administrator|Expert\s+Reviewer|Physician\s+Reviewer)\s+did\s+not\s+cite\s+"
    r"any\s+(?:medical\s+)?evidence\s+for\s+(?:its|their|his/her)\s+decision\.?",
    r"The\s+(?:Claims\s+Administrator|Expert\s+Reviewer|Physician\s+Reviewer)\s+did\s+not\s+base\s+"
    r"(?:its|their|his/her)\s+decision\s+on\s+the\s+MTUS(?:\s+Guidelines)?\.?",
    r"The\s+(?:Claims\s+Administrator|Expert\s+Reviewer|Physician\s+Reviewer)\s+based\s+"
    r"(?:its|their|his/her)\s+decision\s+on\s+recommendation\(?s?\)?\s+outside\s+of\s+the\s+MTUS"
    r"(?:\s+Guidelines)?\.?",
]
_BOILER = re.compile("|".join(_BOILERPLATE), re.I)
_BASED = re.compile(r"Decision\s+based\s+on\s+", re.I)
_PAGES = re.compile(r"Page\s*\(?s?\)?\s*:\s*([\d\s,;\-–and]+)", re.I)

# MTUS document names, longest first, matched at the end of the text before an edition year
MTUS_DOCUMENTS = [
    "Chronic Pain Medical Treatment Guidelines",
    "Chronic Pain Medical Treatment",
    "Chronic Pain Treatment Guidelines",
    "Forearm, Wrist, and Hand Complaints",
    "Forearm, Wrist and Hand Complaints",
    "Neck and Upper Back Complaints",
    "Ankle and Foot Complaints",
    "Low Back Complaints",
    "Shoulder Complaints",
    "Elbow Complaints",
    "Knee Complaints",
    "Eye Chapter",
    "Stress Related Conditions",
    "General Approaches",
    "Postsurgical Treatment Guidelines",
    "Postsurgical Treatment",
    "Acupuncture Medical Treatment Guidelines",
    "Acupuncture Treatment",
    "Opioid Treatment",
    "Independent Medical Examinations and Consultations",
]
_ODG_NAME = re.compile(
    r"^(?:Non-MTUS\s+Citation\s+)?(?:the\s+)?(?:Official\s+Disability\s+Guidelines?|ODG)"
    r"(?:\s*\(ODG\))?(?:\s+guidelines?)?\s*(?:[,:\-–]\s*)?",
    re.I,
)
_OTHER_NAME = re.compile(
    r"^(?:Non-MTUS\s+Citation\s+)?Other\s+Medical\s+Treatment\s+Guidelines?"
    r"(?:\s+or\s+Medical\s+Evidence)?\s*:?\s*",
    re.I,
)
_ACOEM_NAME = re.compile(
    r"^(?:Non-MTUS\s+Citation\s+)?(?:the\s+)?(?:American\s+College\s+of\s+Occupational\s+and\s+"
    r"Environmental\s+Medicine\s*\(ACOEM\)|ACOEM)",
    re.I,
)
_AE = r"(?:\s*\(\s*Acute\s*(?:&|and)\s*Chronic\s*\))?"
ODG_CHAPTERS = [
    r"Low\s+Back\s*\(\s*(?:Thoracic|Lumbar)\s*(?:&|and)[^)]*\)",  # '(Thoracic and Lumbar, Acute..)'
    r"Low\s+Back\s*(?:[-–,]\s*)?(?:Lumbar\s*)?(?:&|and)\s*Thoracic" + _AE,
    r"Low\s+Back\s*[-–,]\s*Lumbar\s*(?:&|and)\s*Thoracic" + _AE,
    r"Lumbar\s*(?:&|and)\s*Thoracic" + _AE,
    r"Low\s+Back" + _AE,
    r"Lower\s+Back" + _AE,
    r"Neck\s*(?:&|and)\s*Upper\s+Back" + _AE,
    r"Forearm,?\s*Wrist,?\s*(?:&|and)\s*Hand" + _AE,
    r"Carpal\s+Tunnel\s+Syndrome" + _AE,
    r"Ankle\s*(?:&|and)\s*Foot" + _AE,
    r"Hips?\s*(?:&|and)\s*Pelvis" + _AE,
    r"Knee\s*(?:&|and)\s*Leg" + _AE,
    r"Mental\s+Illness\s*(?:&|and)\s*Stress",
    r"Traumatic\s+Brain\s+Injury",
    r"Chronic\s+Pain",
    r"Pain\s*\(\s*Chronic\s*\)",
    r"Pain(?=\s*(?:chapter|section|\(|,|:|;|/|-|$))",
    r"Shoulder" + _AE,
    r"Hand(?=\s*(?:chapter|section)\b)",  # 'Shoulder Chapter, Hand Chapter, Physical therapy'
    r"Elbow" + _AE,
    r"Knee" + _AE,
    r"Head(?:\s*\(\s*trauma[^)]*\))?" + _AE,  # 'Head (trauma, headaches, etc., not including ..)'
    r"Neck" + _AE,
    r"Hernia",
    r"Pulmonary" + _AE,
    r"Eye",
    r"Burns",
    r"Preface",
    r"Fitness\s+for\s+Duty",
    r"Integrated\s+Treatment\s*/\s*Disability\s+Duration\s+Guidelines",
    r"Workers'?\s+Comp(?:ensation)?\s+Drug\s+Formulary",
]
_CHAPTER_ALT = "(?:" + "|".join(ODG_CHAPTERS) + r")(?![A-Za-z])"
_ODG_CHAPTER = re.compile(r"(?:the\s+)?(" + _CHAPTER_ALT + ")", re.I)  # used with .match
_ODG_NEXT_CHAPTER = re.compile(
    r"[;,]\s+(?:ODG|Official\s+Disability\s+Guidelines)\s+(?=" + _CHAPTER_ALT + ")", re.I
)
_AND_OTHER = re.compile(
    r"\s+and\s+(?:the\s+)?(?=Other\s+Medical\s+Treatment\s+Guidelines?\b|"
    r"Official\s+Disability\s+Guidelines\b|ODG\b)",
    re.I,
)
# topic names whose own commas do not separate topics
_COMMA_TOPICS = [
    "NSAIDs, GI symptoms & cardiovascular risk",
    "NSAIDs, specific drug list & adverse effects",
    "NSAIDs, hypertension and renal function",
    "Baclofen (Lioresal, generic available)",
    "Benzodiazepine dependence, maintenance",
    "Forearm, Wrist, & Hand",  # MTUS Postsurgical Treatment chapter
    "Forearm, Wrist, and Hand",
]


def parse_pages(text: str) -> tuple[int, ...]:
    """'101, 105-107' -> (101, 105, 106, 107); '64; 7' -> (64, 7); order kept, no repeats."""
    out: list[int] = []
    for part in re.split(r"[,;]|\band\b", text):
        part = part.strip().rstrip(".")
        if not part:
            continue
        m = re.fullmatch(r"(\d{1,4})\s*[-–]\s*(\d{1,4})", part)
        if m:
            a, b = int(m.group(1)), int(m.group(2))
            if b < a and len(m.group(2)) < len(m.group(1)):  # '111-13' shorthand
                b = int(m.group(1)[: len(m.group(1)) - len(m.group(2))] + m.group(2))
            if 0 < a <= b and b - a <= 200:
                out.extend(range(a, b + 1))
            continue
        if re.fullmatch(r"\d{1,4}", part) and int(part) > 0:
            out.append(int(part))
    return tuple(dict.fromkeys(out))


def split_topics(text: str) -> list[str]:
    """Split a topic list on commas that separate topics, not those inside a topic's name."""
    text = text.strip().strip(".;,").strip()
    if not text:
        return []
    protected = text
    keep: dict[str, str] = {}
    for n, name in enumerate(_COMMA_TOPICS):
        pat = re.compile(re.escape(name).replace(r"\ ", r"\s+"), re.I)
        for m in pat.finditer(protected):
            key = f"\x01{n}\x01"
            keep[key] = m.group(0)
            protected = protected.replace(m.group(0), key)
    parts: list[str] = []
    depth = 0
    cur = ""
    for ch in protected:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth = max(0, depth - 1)
        if ch in ",;" and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    merged: list[str] = []
    numbered = re.compile(r"^\d+(?:\.\d+)*\.?\s")
    for p in parts:
        p = p.strip()
        p = re.sub(r"^and\s+", "", p)
        if not p:
            continue
        if merged and (p[0].islower() or (numbered.match(merged[0]) and not numbered.match(p))):
            merged[-1] = merged[-1] + ", " + p
        else:
            merged.append(p)
    out = []
    for p in merged:
        for key, val in keep.items():
            p = p.replace(key, val)
        out.append(" ".join(p.split()).strip(" ."))
    return [p for p in out if p]


def join_paragraph(lines: list[str]) -> str:
    """A guideline paragraph's lines as one string, names broken by a line-end hyphen joined.

    A hyphen at a line end inside a URL belongs to the URL: it is kept and the URL joined whole.
    """
    runs: list[list[str]] = [[]]
    for ln in lines:
        runs[-1].append(ln)
        if _URL_TAIL.search(ln.rstrip()):
            runs.append([])
    text = ""
    for run in runs:
        if run:
            text += join_lines(run, drop_hyphens=True)
    return text


_URL_TAIL = re.compile(r"(?:https?://|www\.)\S*-$")


def parse_guideline_paragraph(text: str) -> tuple[Citation, ...]:
    """All citations in one guideline paragraph; boilerplate gives none."""
    cites: list[Citation] = []
    for seg in paragraph_segments(text):
        cites.extend(segment_citations(seg))
    return tuple(_merge(cites))


def paragraph_segments(text: str) -> list[str]:
    """The 'Decision based on ...' segments of one paragraph, boilerplate removed."""
    text = " ".join(text.split())
    text = _BOILER.sub(" ", text).strip()
    if not text:
        return []
    text = _AND_OTHER.sub(" Decision based on ", text)
    return [s.strip() for s in _BASED.split(text) if s.strip()]


def segment_citations(seg: str) -> list[Citation]:
    """The citations one segment gives, before merging with the paragraph's other segments."""
    return _segment(seg)


def _merge(cites: list[Citation]) -> list[Citation]:
    """One citation per (guideline, document, year): topics and pages are unioned."""
    out: dict[tuple[str, str, int | None], Citation] = {}
    for c in cites:
        key = (c.guideline, c.document.lower(), c.year)
        if key in out:
            old = out[key]
            out[key] = Citation(
                old.guideline,
                old.document,
                old.year,
                tuple(dict.fromkeys(old.sections + c.sections)),
                tuple(dict.fromkeys(old.pages + c.pages)),
            )
        else:
            out[key] = c
    return list(out.values())


def _segment(seg: str) -> list[Citation]:
    seg = seg.strip().rstrip(".").strip()
    if re.match(r"^MTUS\b", seg):
        return _mtus(re.sub(r"^MTUS\s*(?:\(ACOEM\)\s*)?", "", seg))
    # kind: an ACOEM citation after another source ('ODG Knee, Topic, ACOEM 2nd Edition p. 343')
    pieces = [p for p in _ACOEM_AFTER.split(seg) if p.strip(" ,;.")]
    if len(pieces) > 1:
        return [c for p in pieces for c in _segment(p)]
    if _OTHER_NAME.match(seg):
        return read_other(_OTHER_NAME.sub("", seg, count=1))
    seg = re.sub(r"^Non-MTUS\s+Citation\s*:?\s*", "", seg, flags=re.I)
    if _ODG_NAME.match(seg):
        return _odg(_ODG_NAME.sub("", seg, count=1))
    if _ODG_CHAPTER.match(_VERSION_WORDS.sub("", seg).strip()):
        return _odg(seg)  # 'Non-MTUS Citation Low Back (Hyperstimulation analgesia)'
    if _ACOEM_NAME.match(seg):
        return [_acoem(_ACOEM_NAME.sub("", seg, count=1))]
    return read_other(seg)


_ACOEM_AFTER = re.compile(
    r"(?<=\S)[,;.]?\s+(?=(?:ACOEM|American\s+College\s+of\s+Occupational)\b)", re.I
)
_STANDALONE_YEAR = re.compile(
    r"(?:(?<=^)|(?<=[\s,;:(]))\(?\s*(19[89]\d|20[0-4]\d)\s*\)?(?=$|[\s,;:.)])"
)
_ACOEM_PAGES = re.compile(
    r"\b(?:pp?|pgs?|pages?)\b\.?\s*(\d{1,4}(?:\s*(?:[-–,]|and)\s*\d{1,4}(?![\w]))*)(?![\w])", re.I
)


def _versions_and_year(text: str) -> tuple[str, int | None]:
    """Drop edition/version words and '(updated ..)'; take out a year standing on its own."""
    text = _strip_updated(text)
    text = _VERSION_WORDS.sub(", ", text)
    year = None
    ym = _STANDALONE_YEAR.search(text)
    if ym:
        year = int(ym.group(1))
        text = text[: ym.start()] + ", " + text[ym.end() :]
    text = re.sub(r"\(\s*\)", " ", text)
    text = re.sub(r"\s*,(?:\s*,)+", ",", text)
    text = re.sub(r"\s+,", ",", text)
    return " ".join(text.split()).strip(" ,:;-–"), year


def _mtus(text: str) -> list[Citation]:
    if _PAGES.search(text) or not _YEAR.search(text):
        return _mtus_old(text)
    # 2016 format: "<Doc> <Year>[, Section(s): <topics>][, and <Doc> <Year>...]"
    out: list[Citation] = []
    years = list(_YEAR.finditer(text))
    starts: list[tuple[int, int, str]] = []  # (doc start, year match index, doc name)
    for ym in years:
        before = text[: ym.start()].rstrip()
        name = _known_suffix(before)
        if name is None:
            m = re.search(r"(?:^|,?\s+and\s+|,\s+)([A-Z][^,]*?)$", before)
            if not m:
                continue
            name = m.group(1).strip()
        after = text[ym.end() : ym.end() + 14]
        if not re.match(r"\s*(?:,|\.|$|\s+and\b|\s*Section)", after):
            continue
        starts.append((len(before) - len(name), ym.end(), name))
    for k, (_start, yend, name) in enumerate(starts):
        stop = starts[k + 1][0] if k + 1 < len(starts) else len(text)
        tail = text[yend:stop]
        tail = re.sub(r",?\s*\band\s*$", "", tail.strip())
        tail = re.sub(r",\s*$", "", tail)
        sm = re.search(r"Section\(?s?\)?\s*:\s*(.*)$", tail, re.I)
        sections = split_topics(sm.group(1)) if sm else []
        year = int(text[yend - 4 : yend])
        doc = " ".join(name.split())
        guideline = "MTUS"
        out.append(Citation(guideline, doc, year, tuple(sections), ()))
    if not out:
        return _mtus_old(text)
    return out


def _known_suffix(before: str) -> str | None:
    low = " ".join(before.split()).lower()
    for name in MTUS_DOCUMENTS:
        if low.endswith(name.lower()):
            n = len(name)
            # map back onto the original spacing
            folded = " ".join(before.split())
            return folded[-n:]
    return None


_OLD_DOCS = [
    r"Chronic\s+Pain\s+Medical\s+Treatment\s+Guidelines",
    r"Chronic\s+Pain\s+Treatment\s+Guidelines",
    r"Chronic\s+Pain\s+Medical\s+Treatment",
    r"Postsurgical\s+Treatment\s+Guidelines",
    r"Acupuncture\s+Medical\s+Treatment\s+Guidelines",
    r"ACOEM\s+Chapter\s+\d+[^,;]*?(?=\s*Page|\s*[,;]|\s*$)",
    r"ACOEM\s+Practice\s+Guidelines",
    r"(?:Low\s+Back|Neck\s+and\s+Upper\s+Back|Shoulder|Elbow|Knee|Ankle\s+and\s+Foot|"
    r"Forearm,?\s+Wrist,?\s+and\s+Hand)\s+Complaints",
    r"ACOEM",
]
_OLD_DOC = re.compile("(" + "|".join(_OLD_DOCS) + ")", re.I)


def _mtus_old(text: str) -> list[Citation]:
    """2013-2015 format: '<Document> <Topic> Page(s): 101, 105-107', several joined by '; '."""
    out: list[Citation] = []
    docs = list(_OLD_DOC.finditer(text))
    if not docs:
        doc, secs, pages = _old_topic_pages(text)
        return [Citation("MTUS", doc, None, tuple(secs), pages)]
    for k, m in enumerate(docs):
        stop = docs[k + 1].start() if k + 1 < len(docs) else len(text)
        body = text[m.end() : stop].strip(" ,;")
        name = " ".join(m.group(1).split())
        ym = _YEAR.search(body[:12])
        year = None
        if ym and body[: ym.start()].strip(" ,(") == "":
            year = int(ym.group(1))
            body = body[ym.end() :].strip(" ,)")
        _, secs, pages = _old_topic_pages(body)
        out.append(Citation("MTUS", name, year, tuple(secs), pages))
    return out


def _old_topic_pages(body: str) -> tuple[str, list[str], tuple[int, ...]]:
    pages: list[int] = []
    secs: list[str] = []
    pos = 0
    for m in _PAGES.finditer(body):
        topic = body[pos : m.start()].strip(" ,;.")
        if topic:
            secs.extend(t for t in re.split(r";\s*", topic) if t.strip())
        pages.extend(parse_pages(m.group(1)))
        pos = m.end()
    tail = body[pos:].strip(" ,;.")
    if tail:
        secs.extend(t.strip() for t in re.split(r";\s*", tail) if t.strip())
    return "", [" ".join(s.split()).strip(" ,.") for s in secs], tuple(dict.fromkeys(pages))


# an explicit ODG name inside the text starts a new citation; 'ODG <topic>' stays a topic
_ODG_RESTART = re.compile(
    r"(?:[,;.]\s*|\s+)(?:Official\s+Disability\s+Guidelines?(?:\s*\(ODG\))?|ODG(?=\s+"
    + _CHAPTER_ALT
    + r"))\s*[,:\-–]?\s*",
    re.I,
)
_CHAPTER_END = _AE + r"\s*(?:chapters?|sections?)?" + _AE + r"\s*(?:$|[,;:/(]|[-–]\s|\s+and\s+)"
_NEXT_CHAPTER = re.compile(
    r"(?:\s*,\s*|\s+and\s+|\s*/\s*)(?=(?:the\s+)?" + _CHAPTER_ALT + _CHAPTER_END + ")", re.I
)


def _odg(rest: str) -> list[Citation]:
    """ODG: '<chapter> [Chapter] [(updated ..)] [,:-] <topics>', chapters listed or ';'-joined.

    Kinds: edition/version words and years around the chapter; several chapters in one citation
    ('Neck and Upper Back, Low Back'; 'A, B and C chapters: topic' shares the topic); a ';' part
    without a chapter continues the chapter before it; the ODG name written again starts anew.
    """
    rest, year = _versions_and_year(rest)
    out: list[Citation] = []
    for explicit in _ODG_RESTART.split(rest):
        current = ""
        for n, part in enumerate(re.split(r"\s*;\s+", explicit)):
            part = _ODG_NAME.sub("", part.strip(), count=1).strip(" .,")
            if not part:
                continue
            chapters = _odg_chapters(part)
            if n and not chapters[0][0] and current:  # '..., EDS; NCS': still the same chapter
                chapters[0] = (current, chapters[0][1])
            for doc, topics in chapters:
                out.append(Citation("ODG", doc, year, tuple(topics), ()))
            current = chapters[-1][0]
    return out or [Citation("ODG", "", year, (), ())]


def _odg_chapters(text: str) -> list[tuple[str, list[str]]]:
    """[(chapter as written, topics)] for one part; chapter '' when the part names none."""
    m = _ODG_CHAPTER.match(text)
    if not m:
        return [("", _odg_topics(text))]
    found: list[tuple[str, str]] = []  # (chapter, text after it up to the next chapter)
    pos = 0
    starts = [m] + [
        _ODG_CHAPTER.match(text, n.end()) for n in _NEXT_CHAPTER.finditer(text, m.end())
    ]
    bounds = [m.start()] + [n.start() for n in _NEXT_CHAPTER.finditer(text, m.end())]
    for k, cm in enumerate(starts):
        if cm is None:
            continue
        stop = bounds[k + 1] if k + 1 < len(bounds) else len(text)
        pos = cm.end()
        found.append((cm.group(1), text[pos:stop]))
    out: list[tuple[str, list[str]]] = []
    for chapter, after in found:
        doc, after = _chapter_document(chapter, after)
        out.append((doc, _odg_topics(after)))
    # chapters listed one after another share the topics written after the last of them
    for k in range(len(out) - 2, -1, -1):
        if not out[k][1] and out[k + 1][1]:
            out[k] = (out[k][0], list(out[k + 1][1]))
    return out


def _chapter_document(chapter: str, after: str) -> tuple[str, str]:
    """The chapter as written (its '(Acute & Chronic)' kept, 'Chapter' dropped) and the rest."""
    doc = " ".join(chapter.split())
    rest = re.sub(r"^\s*(?:chapters?|sections?)\b", "", after, flags=re.I)
    ae = re.match(_AE.replace("(?:", "^(?:", 1), rest, flags=re.I)
    if ae and ae.group(0).strip():
        if "(" not in doc:
            doc = doc + " " + " ".join(ae.group(0).split())
        rest = rest[ae.end() :]
    rest = re.sub(r"^\s*(?:chapters?|sections?)\b", "", rest, flags=re.I)
    return doc, rest


def _odg_topics(text: str) -> list[str]:
    rest = _strip_updated(text)
    rest = rest.strip().lstrip(",:;-–/").strip()
    if rest.startswith("(") and _closing(rest) == len(rest) - 1:
        rest = rest[1:-1]  # 'Knee and Leg (Durable medical equipment (DME))'
    rest = re.sub(r"\s+(?=ODG\s+\w)", ", ", rest)  # 'Manipulation ODG Chiropractic Guidelines'
    topics = []
    for t in split_topics(rest):
        # 'Topic', 'subheading' and a bare 'Guidelines' name the structure, not a topic
        t = re.sub(r"\s+Topic$|,?\s*\bsubheading$", "", t, flags=re.I).strip()
        if t and not re.fullmatch(r"guidelines?", t, re.I):
            topics.append(t)
    return topics


def _closing(text: str) -> int:
    """Index of the parenthesis closing the one that opens text, -1 when none."""
    depth = 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
    return -1


def _acoem(text: str) -> Citation:
    """ACOEM outside MTUS: '[Occupational Medicine Practice Guidelines,] [3rd ed.,] <chapter>
    [Chapter][/<part>...] [(2004)] [, pg. 64]' -> document the chapter, parts as sections."""
    text = _strip_updated(text)
    pages: list[int] = []
    for m in _ACOEM_PAGES.finditer(text):
        pages.extend(parse_pages(m.group(1)))
    text = _ACOEM_PAGES.sub(", ", text)
    text, year = _versions_and_year(text)
    text = re.sub(
        r"\b(?:Occupational\s+Medicine\s+)?Practice\s+Guidelines?\b|^\s*guidelines?\b"
        r"|\bChapter\s+\d+\s*:?",
        ", ",
        text,
        flags=re.I,
    )
    parts: list[str] = []
    for piece in re.split(r"\s*[/:;]\s*", text):
        commas = [c.strip() for c in piece.split(",")]
        if any(re.match(r"(?:and|or)\s", c, re.I) for c in commas):
            commas = [", ".join(c for c in commas if c)]  # 'Pain, Suffering, and the ..'
        parts.extend(c for c in commas if c.strip(" .-–"))
    parts = [re.sub(r"\s+Chapter$", "", p.strip(" .-–"), flags=re.I) for p in parts]
    parts = [p for p in parts if p]
    doc = parts[0] if parts else "Occupational Medicine Practice Guidelines"
    return Citation("ACOEM", doc, year, tuple(parts[1:]), tuple(dict.fromkeys(pages)))


def _strip_updated(text: str) -> str:
    return re.sub(r"\(\s*updated\s+[\d/\-]+\s*\)", " ", text, flags=re.I).strip()
