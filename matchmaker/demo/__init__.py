"""Demo data written for this project: organisations, challenges and solution profiles (.jsonl, the
field names of docs/fields.md), the demo accounts (``accounts.DEMO_ACCOUNTS``) and their loader
(`flask --app wsgi demo load [--if-empty]`)."""
