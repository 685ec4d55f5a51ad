#!/usr/bin/env python3
"""Regenerate the schema templates from the real fixture libraries.

Usage: python3 extract.py <copy-of-fixtures-dir>

Always run it on a COPY of the fixtures (opening the originals would
checkpoint their WAL). It writes photos5.sql / modern.sql (CREATE TABLE and
CREATE INDEX statements of the tables a reader needs, one per line, with
entity numbers replaced by {EntityName} placeholders) and
photos5-entities.txt / modern-entities.txt (Z_PRIMARYKEY: ent|name|super).
"""
import os
import re
import sqlite3
import sys

COMMON = [
    "Z_PRIMARYKEY", "Z_METADATA", "Z_MODELCACHE",
    "ZADDITIONALASSETATTRIBUTES", "Z_1KEYWORDS", "ZASSETDESCRIPTION",
    "ZINTERNALRESOURCE", "ZGENERICALBUM", "ZKEYWORD", "ZPERSON",
    "ZDETECTEDFACE", "ZFILESYSTEMVOLUME", "ZFILESYSTEMBOOKMARK",
    "ZUNMANAGEDADJUSTMENT", "ZMOMENT", "ATRANSACTION", "ACHANGE",
    "ATRANSACTIONSTRING", "ZCLOUDSHAREDALBUMINVITATIONRECORD",
]
GENERATIONS = {
    "photos5": ("Test-10.15.7.photoslibrary", ["ZGENERICASSET", "Z_26ASSETS", "ZUNIFORMTYPEIDENTIFIER"]),
    "modern": ("Test-Media-Types-15.7.2.photoslibrary", ["ZASSET", "Z_30ASSETS"]),
}
NUM = re.compile(r"(?<![A-Za-z0-9])(Z_FOK_|Z_|Z)(\d+)(?=[A-Z_])")


def main(src: str) -> None:
    out = os.path.dirname(os.path.abspath(__file__))
    for gen, (lib, extra) in GENERATIONS.items():
        db = sqlite3.connect(f"file:{os.path.join(src, lib, 'database', 'Photos.sqlite')}?mode=ro", uri=True)
        ents = db.execute("SELECT Z_ENT, Z_NAME, Z_SUPER FROM Z_PRIMARYKEY ORDER BY Z_ENT").fetchall()
        names = {e: n for e, n, _ in ents}
        with open(os.path.join(out, f"{gen}-entities.txt"), "w") as f:
            f.write("# Z_ENT|Z_NAME|Z_SUPER, from the fixture's Z_PRIMARYKEY\n")
            for e, n, s in ents:
                f.write(f"{e}|{n}|{s}\n")

        def templ(sql: str) -> str:
            return NUM.sub(lambda m: f"{m.group(1)}{{{names[int(m.group(2))]}}}", sql)

        tables = COMMON + extra
        lines = [f"-- Schema of the {gen} generation, extracted by extract.py from {lib}.",
                 "-- Placeholders in braces stand for Z_PRIMARYKEY entity numbers."]
        for kind in ("table", "index"):
            for t in tables:
                rows = db.execute(
                    "SELECT sql FROM sqlite_master WHERE type=? AND tbl_name=? AND sql IS NOT NULL ORDER BY name",
                    (kind, t)).fetchall()
                if kind == "table" and not rows:
                    sys.exit(f"{gen}: table {t} missing")
                for (sql,) in rows:
                    lines.append(templ(" ".join(sql.split())) + ";")
        with open(os.path.join(out, f"{gen}.sql"), "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
