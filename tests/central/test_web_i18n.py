"""Every UI string is translated: each key the page or its scripts use exists in every language."""

from __future__ import annotations

import json
import re

from central.web import WEB_DIR

LANGUAGES = ("en", "ru")
# Keys built at run time from a value: the prefix and every value it can take.
DYNAMIC = {
    "state.": ("online", "offline", "silent", "unknown"),
    "live.": ("idle", "following", "disconnected", "error"),
    "wl.kind_": ("allow", "deny", "alert"),
    "wl.match_": ("exact", "fuzzy"),
    "device.ack_": ("pending", "applied", "rejected", "stale"),
    "attention.": (
        "offline", "silent", "unknown", "outbox_backlog", "disk_low", "certificate_expiring", "no_frames",
        "frames_dropped",
    ),
}  # fmt: skip


def _dictionary(language: str) -> dict[str, str]:
    return json.loads((WEB_DIR / "i18n" / f"{language}.json").read_text(encoding="utf-8"))


def _used_keys() -> set[str]:
    html = (WEB_DIR / "index.html").read_text(encoding="utf-8")
    keys = set(re.findall(r'data-(?:i18n(?:-placeholder|-title)?|label)="([^"]+)"', html))
    for script in (WEB_DIR / "js").glob("*.js"):
        source = script.read_text(encoding="utf-8")
        keys |= set(re.findall(r'\bt\("([a-z_]+\.[a-z_]+)"', source))
        # Keys handed to t() through a table, e.g. [["col.site", value], ...].
        keys |= set(re.findall(r'"((?:col|detail|device|dash|admin)\.[a-z_]+)"', source))
    for prefix, values in DYNAMIC.items():
        keys |= {prefix + value for value in values}
    return keys


def test_every_used_key_is_translated_in_every_language() -> None:
    used = _used_keys()
    assert len(used) > 100
    for language in LANGUAGES:
        missing = used - _dictionary(language).keys()
        assert not missing, f"{language}.json lacks {sorted(missing)}"


def test_languages_have_the_same_keys_and_placeholders() -> None:
    english, russian = _dictionary("en"), _dictionary("ru")
    assert english.keys() == russian.keys()
    for key, text in english.items():
        assert russian[key].strip(), key
        assert set(re.findall(r"\{(\w+)\}", text)) == set(re.findall(r"\{(\w+)\}", russian[key])), key


def test_every_visible_text_in_the_page_carries_a_key() -> None:
    # Text directly inside an element (not whitespace, not an option value list) must be translatable.
    html = (WEB_DIR / "index.html").read_text(encoding="utf-8")
    body = html[html.index("<body>") :]
    untranslated = []
    for match in re.finditer(r"<(\w+)([^>]*)>([^<]+)<", body):
        tag, attributes, text = match.groups()
        if not text.strip() or "data-i18n" in attributes:
            continue
        if tag == "option" and 'value="' in attributes and text.strip() in {"viewer", "operator", "admin"}:
            continue  # role names are identifiers, the same in every language
        if tag == "option" and text.strip() in {"English", "Русский"}:
            continue  # each language is named in itself
        untranslated.append(f"<{tag}>{text.strip()}")
    assert untranslated == []


def test_the_ui_is_served_without_a_build_step() -> None:
    assert (WEB_DIR / "js" / "main.js").is_file() and not (WEB_DIR / "package.json").exists()
