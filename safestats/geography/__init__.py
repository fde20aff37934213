"""London geography: boroughs, wards, MSOAs and LSOAs, their lookups and boundaries,
point-in-area assignment, coordinate systems and spatial suppression."""
