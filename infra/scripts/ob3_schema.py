#!/usr/bin/env python3
"""Validates an Open Badges 3.0 credential (a file) against the 1EdTech AchievementCredential
JSON Schema (tests/verifier/schemas/, copied from 1EdTech/openbadges-specification). Prints
"valid" or each error with its path; exits 1 when invalid."""
import json, pathlib, sys
import jsonschema

root = pathlib.Path(__file__).resolve().parents[2]
schema = json.loads((root / "tests/verifier/schemas/ob_v3p0_achievementcredential_schema.json").read_text())
credential = json.loads(pathlib.Path(sys.argv[1]).read_text())
validator = jsonschema.validators.validator_for(schema)(schema, format_checker=jsonschema.FormatChecker())
errors = sorted(validator.iter_errors(credential), key=lambda e: list(e.absolute_path))
for e in errors:
    print("/".join(map(str, e.absolute_path)) or "(root)", ":", e.message)
print("valid" if not errors else f"{len(errors)} error(s)")
sys.exit(1 if errors else 0)
