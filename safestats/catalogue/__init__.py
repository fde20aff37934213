"""The catalogue: dataset specifications (fields, types, code lists, geography, disclosure
rules and the layouts providers send), kept as files in the repository or added by
platform administrators, their history, the versions of each dataset's data and which one
is current, and the catalogue and data dictionary pages."""
