"""Compile the .po catalogs to .mo with polib, so no gettext tools are needed on a fresh machine.

Run after editing yingji/locale/*/LC_MESSAGES/django.po (make messages does both steps).
"""

from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent / "yingji" / "locale"

for po_path in sorted(ROOT.glob("*/LC_MESSAGES/*.po")):
    catalog = polib.pofile(str(po_path))
    catalog.save_as_mofile(str(po_path.with_suffix(".mo")))
    print(f"{po_path.relative_to(ROOT.parent.parent)}: {len(catalog.translated_entries())} translated, "
          f"{len(catalog.untranslated_entries())} untranslated, {len(catalog.fuzzy_entries())} fuzzy")
