"""What YAML cannot say for OneTrust: one record per data subject and purpose.

A data subject profile holds its consent per purpose in `Purposes`; the
canonical consent is one row per person and purpose, and a stream per purpose
lets the warehouse merge each one on its own key.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from connectors._shared.components import JsonBodyExtractor

# the purpose's fields kept on the record, under the names they have in OneTrust
_PURPOSE_FIELDS = (
    "Status",
    "FirstTransactionDate",
    "LastTransactionDate",
    "ConsentDate",
    "WithdrawalDate",
    "TotalTransactionCount",
    "LastTransactionCollectionPointId",
)


@dataclass
class PurposeExtractor(JsonBodyExtractor):
    """`content[*].Purposes[*]` -> one record each, keyed `<data subject id>:<purpose id>`."""

    def records_from(self, body: Any) -> Iterable[Mapping[str, Any]]:
        out = []
        for subject in body.get("content") or []:
            for purpose in subject.get("Purposes") or []:
                out.append(
                    {
                        "Key": f"{subject.get('Id')}:{purpose.get('Id')}",
                        "DataSubjectId": subject.get("Id"),
                        "Identifier": subject.get("Identifier"),
                        "LastUpdatedDate": subject.get("LastUpdatedDate"),
                        "PurposeId": purpose.get("Id"),
                        "PurposeName": purpose.get("Name"),
                        "PurposeVersion": purpose.get("Version"),
                        **{k: purpose.get(k) for k in _PURPOSE_FIELDS},
                    }
                )
        return out
