"""moto's server with Route 53's documented change-batch semantics (used by test/harness/moto.ts).

moto 5.2.5 validates ChangeResourceRecordSets against its journal of past changes instead of the
zone: a DELETE passes when the same record set was ever created (even if it changed since), a
CREATE fails only when the identical CREATE was sent before (so a CREATE of an existing name and
type with other values adds a second record set, and a DELETE followed by an identical CREATE is
refused), a CNAME may share its name with other records, and an error raised while applying
leaves the earlier changes in place. docs/backends.md lists these departures.

This replaces only Route53Backend.change_resource_record_sets, with what the API reference and
the developer guide document: the changes are applied in order to a working copy of the zone's
record sets, which replaces the zone only when every change succeeded (one batch, all or
nothing); a record set is identified by name (case-insensitive), type and SetIdentifier; CREATE
fails when it exists; DELETE fails unless it names the current record set exactly (TTL and
values, in any order, or the same alias target); a CNAME cannot share its name with another
record set; every failure is InvalidChangeBatch with Route 53's message. Everything else
(the wire protocol, hosted zones, listing and its order, other errors) is moto's own.

Usage: python moto-route53.py [moto_server arguments]
"""

import copy
import sys

from moto.route53 import models
from moto.route53.exceptions import InvalidActionValue, Route53ClientError
from moto.route53.utils import validate_domain_name
from moto.server import main


class InvalidChangeBatch(Route53ClientError):
    def __init__(self, message: str) -> None:
        super().__init__("InvalidChangeBatch", message)


def _key(record_set):
    name = record_set.name if hasattr(record_set, "name") else record_set["Name"]
    rtype = record_set.type if hasattr(record_set, "type") else record_set["Type"]
    ident = (
        record_set.set_identifier
        if hasattr(record_set, "set_identifier")
        else record_set.get("SetIdentifier")
    )
    return (name.lower().rstrip("."), rtype, ident)


def _values(record_set):
    return sorted(record_set.records or [])


def _same(existing, wanted) -> bool:
    if wanted.get("AliasTarget") or existing.alias_target:
        return existing.alias_target == wanted.get("AliasTarget")
    return existing.ttl == wanted.get("TTL") and _values(existing) == sorted(
        wanted.get("ResourceRecords", [])
    )


def change_resource_record_sets(self, zoneid, change_list):
    zone = self.get_hosted_zone(zoneid)
    zone_name = zone.name.lower().rstrip(".")
    # The working copy, by identity (a dict keeps the zone's order), and the identities per name.
    work = {}
    by_name = {}
    for rs in zone.rrsets:
        work[_key(rs)] = rs
        by_name.setdefault(_key(rs)[0], set()).add(_key(rs))
    for value in change_list:
        action = value["Action"]
        if action not in ("CREATE", "UPSERT", "DELETE"):
            raise InvalidActionValue(action)
        validate_domain_name(value["ResourceRecordSet"]["Name"], code="InvalidChangeBatch")
        wanted = copy.deepcopy(value["ResourceRecordSet"])
        if not wanted["Name"].endswith("."):
            wanted["Name"] += "."
        name = wanted["Name"].lower().rstrip(".")
        if name != zone_name and not name.endswith("." + zone_name):
            raise InvalidChangeBatch(
                f"RRSet with DNS name {wanted['Name']} is not permitted in zone {zone.name}"
            )
        if "ResourceRecords" in wanted:
            wanted["ResourceRecords"] = [r["Value"] for r in wanted["ResourceRecords"]]
        key = _key(wanted)
        label = f"[name='{wanted['Name']}', type='{wanted['Type']}'" + (
            f", set-identifier='{key[2]}']" if key[2] is not None else "]"
        )
        here = by_name.setdefault(name, set())
        if action == "DELETE":
            if key not in work:
                raise InvalidChangeBatch(f"Tried to delete resource record set {label} but it was not found")
            if not _same(work[key], wanted):
                raise InvalidChangeBatch(
                    f"Tried to delete resource record set {label} but the values provided do not match the current values"
                )
            del work[key]
            here.discard(key)
            continue
        if action == "CREATE" and key in work:
            raise InvalidChangeBatch(f"Tried to create resource record set {label} but it already exists")
        others = [k for k in here if k != key]
        if wanted["Type"] == "CNAME" and others:
            raise InvalidChangeBatch(
                f"RRSet of type CNAME with DNS name {wanted['Name']} is not permitted as it conflicts with other records with the same DNS name in zone {zone.name}"
            )
        if wanted["Type"] != "CNAME" and any(k[1] == "CNAME" for k in others):
            raise InvalidChangeBatch(
                f"RRSet of type {wanted['Type']} with DNS name {wanted['Name']} is not permitted because a conflicting RRSet of type CNAME with the same DNS name already exists in zone {zone.name}"
            )
        work[key] = models.RecordSet(wanted)
        here.add(key)
    zone.rrsets = list(work.values())


models.Route53Backend.change_resource_record_sets = change_resource_record_sets

if __name__ == "__main__":
    main(sys.argv[1:])
