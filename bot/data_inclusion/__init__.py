"""data·inclusion v1 import and export.

`gather` reads upstream records (`files`: open-data JSON/CSV; `client`: the API), `records`
validates them with the schema package, `mapping` applies the knowledge base's mapping file,
`convert` turns them into our records, `importer` merges them with the previous import
(`previous`: the file as it is and its fingerprints) and `writer` writes reviewable YAML; `run`
does one import end to end and `report` says what it did. `exporter` goes the other way.
"""
