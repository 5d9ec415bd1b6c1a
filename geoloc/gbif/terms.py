"""Darwin Core Archive vocabulary: term namespaces, row types, and GBIF's column names and order.

A column is `(name, term URI)`: the name is the header GBIF writes, the URI what meta.xml says it
holds. Readers look columns up by URI (meta.xml decides positions); writers emit them in GBIF's
order. The occurrence list is a realistic subset of the ~240 columns of a GBIF download.
"""

from __future__ import annotations

DWC = "http://rs.tdwg.org/dwc/terms/"
GBIF = "http://rs.gbif.org/terms/1.0/"
DCTERMS = "http://purl.org/dc/terms/"
TEXT_NAMESPACE = "http://rs.tdwg.org/dwc/text/"  # meta.xml's own elements

OCCURRENCE = DWC + "Occurrence"
MULTIMEDIA = GBIF + "Multimedia"

Column = tuple[str, str]


def _columns(namespace: str, names: list[str]) -> list[Column]:
    return [(name, namespace + name) for name in names]


# In the order a GBIF occurrence download lists them.
OCCURRENCE_COLUMNS: list[Column] = [
    *_columns(GBIF, ["gbifID"]),
    *_columns(DCTERMS, ["identifier", "license", "modified", "references", "rightsHolder"]),
    *_columns(
        DWC,
        [
            "institutionCode",
            "collectionCode",
            "datasetName",
            "basisOfRecord",
            "occurrenceID",
            "catalogNumber",
            "recordedBy",
            "occurrenceStatus",
            "occurrenceRemarks",
            "eventDate",
            "year",
            "month",
            "day",
            "countryCode",
            "decimalLatitude",
            "decimalLongitude",
            "coordinateUncertaintyInMeters",
            "scientificName",
            "kingdom",
            "phylum",
            "class",
            "order",
            "family",
            "genus",
            "specificEpithet",
            "infraspecificEpithet",
            "taxonRank",
            "taxonomicStatus",
        ],
    ),
    *_columns(
        GBIF,
        [
            "datasetKey",
            "publishingCountry",
            "lastInterpreted",
            "issue",
            "mediaType",
            "hasCoordinate",
            "hasGeospatialIssues",
            "taxonKey",
            "acceptedTaxonKey",
            "kingdomKey",
            "phylumKey",
            "classKey",
            "orderKey",
            "familyKey",
            "genusKey",
            "speciesKey",
            "species",
            "genericName",
            "acceptedScientificName",
        ],
    ),
]
# The Multimedia extension of a GBIF download, in its order.
MULTIMEDIA_COLUMNS: list[Column] = [
    *_columns(GBIF, ["gbifID"]),
    *_columns(
        DCTERMS,
        [
            "type",
            "format",
            "identifier",
            "references",
            "title",
            "description",
            "source",
            "audience",
            "created",
            "creator",
            "contributor",
            "publisher",
            "license",
            "rightsHolder",
        ],
    ),
]
# Terms whose values are lists; GBIF marks them delimitedBy=";" in meta.xml.
LIST_TERMS = frozenset({GBIF + "issue", GBIF + "mediaType"})
