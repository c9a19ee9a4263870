"""Validates the requests Sluice sent to a stand-in for DataHub GMS with DataHub's own Python models.

Usage: python3 validate_proposals.py CAPTURED.json

CAPTURED.json is a list of {"action": "ingestProposal" | "ingestProposalBatch", "body": <request body>}.
Every proposal must parse into datahub.metadata.schema_classes.MetadataChangeProposalClass and its
aspect into the aspect class its aspectName names (`from_obj`, then `validate()`), lose nothing in
that round trip (from_obj silently drops unknown fields and picks a wrong union member for an
unknown one, so what was sent must come back out of the parsed object), name an entity through a
URN DataHub parses, and carry an aspect DataHub's entity registry allows for that entity.

Prints a JSON summary on stdout; exits 1 if anything is invalid.
"""

import json
import sys

from datahub.emitter.mcp import MetadataChangeProposalWrapper
from datahub.emitter.serialization_helper import post_json_transform, pre_json_transform
from datahub.emitter.aspect import ASPECT_MAP
from datahub.metadata.schema_classes import MetadataChangeProposalClass
from datahub.utilities.urns.urn import Urn, guess_entity_type

# The aspects DataHub's entity registry (metadata-models/src/main/resources/entity-registry.yml)
# allows on the entities Sluice describes, key aspects included.
REGISTRY = {
    "dataset": {
        "datasetKey", "viewProperties", "subTypes", "datasetProfile", "datasetUsageStatistics", "operation",
        "domains", "schemaMetadata", "status", "container", "deprecation", "testResults", "siblings", "embed",
        "incidentsSummary", "datasetProperties", "editableDatasetProperties", "datasetDeprecation",
        "datasetUpstreamLineage", "upstreamLineage", "institutionalMemory", "ownership", "editableSchemaMetadata",
        "globalTags", "glossaryTerms", "browsePaths", "dataPlatformInstance", "browsePathsV2", "access",
        "structuredProperties", "forms", "partitionsSummary",
    },
    "dataJob": {
        "dataJobKey", "datahubIngestionRunSummary", "datahubIngestionCheckpoint", "domains", "deprecation",
        "versionInfo", "dataJobInfo", "dataJobInputOutput", "editableDataJobProperties", "ownership", "status",
        "globalTags", "browsePaths", "glossaryTerms", "institutionalMemory", "dataPlatformInstance",
        "browsePathsV2", "structuredProperties", "forms", "subTypes", "incidentsSummary", "testResults",
    },
    "dataFlow": {
        "dataFlowKey", "domains", "deprecation", "versionInfo", "dataFlowInfo", "editableDataFlowProperties",
        "ownership", "status", "globalTags", "browsePaths", "glossaryTerms", "institutionalMemory",
        "dataPlatformInstance", "browsePathsV2", "structuredProperties", "incidentsSummary", "forms", "subTypes",
        "testResults",
    },
}

MCP_KEYS = {"entityType", "entityUrn", "entityKeyAspect", "changeType", "aspectName", "aspect", "systemMetadata", "headers", "auditHeader"}


def contained(sent, parsed, path):
    """Every value sent is in what DataHub's model parsed (defaults it adds are fine)."""
    if isinstance(sent, dict):
        if not isinstance(parsed, dict):
            return [f"{path}: sent an object, the model has {parsed!r}"]
        problems = []
        for key, value in sent.items():
            if key not in parsed:
                problems.append(f"{path}.{key}: not a field of DataHub's model (dropped when parsed)")
            else:
                problems.extend(contained(value, parsed[key], f"{path}.{key}"))
        return problems
    if isinstance(sent, list):
        if not isinstance(parsed, list) or len(parsed) != len(sent):
            return [f"{path}: list differs after parsing"]
        return [p for i, item in enumerate(sent) for p in contained(item, parsed[i], f"{path}[{i}]")]
    if sent != parsed:
        return [f"{path}: sent {sent!r}, DataHub's model reads {parsed!r}"]
    return []


def urns_in(value):
    if isinstance(value, str):
        if value.startswith("urn:li:"):
            yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from urns_in(v)
    elif isinstance(value, list):
        for v in value:
            yield from urns_in(v)


def check(proposal):
    problems = []
    if not isinstance(proposal, dict):
        return ["proposal is not an object"]
    unknown = set(proposal) - MCP_KEYS
    if unknown:
        problems.append(f"unknown proposal fields {sorted(unknown)}")
    mcpc = MetadataChangeProposalClass.from_obj(post_json_transform(json.loads(json.dumps(proposal))))
    if not mcpc.validate():
        problems.append("MetadataChangeProposalClass.validate() is false")
    if proposal.get("changeType") != "UPSERT":
        problems.append(f"changeType {proposal.get('changeType')!r} is not UPSERT")
    urn = proposal.get("entityUrn")
    entity_type = proposal.get("entityType")
    try:
        parsed_urn = Urn.from_string(urn)
        if guess_entity_type(urn) != entity_type or parsed_urn.entity_type != entity_type:
            problems.append(f"entityType {entity_type!r} does not match {urn}")
    except Exception as e:  # noqa: BLE001 - any parse failure is a finding
        problems.append(f"entityUrn {urn!r}: {e}")
    name = proposal.get("aspectName")
    if name not in ASPECT_MAP:
        problems.append(f"aspectName {name!r} is not a DataHub aspect")
        return problems
    if name not in REGISTRY.get(entity_type, set()):
        problems.append(f"aspect {name} is not allowed on entity {entity_type}")
    aspect = proposal.get("aspect") or {}
    if aspect.get("contentType") != "application/json" or not isinstance(aspect.get("value"), str):
        problems.append("aspect must be {contentType: application/json, value: <JSON string>}")
        return problems
    sent = json.loads(aspect["value"])
    parsed = ASPECT_MAP[name].from_obj(post_json_transform(sent))
    if not parsed.validate():
        problems.append(f"{ASPECT_MAP[name].__name__}.validate() is false")
    problems.extend(contained(sent, pre_json_transform(parsed.to_obj()), name))
    for u in urns_in(sent):
        try:
            Urn.from_string(u)
        except Exception as e:  # noqa: BLE001
            problems.append(f"{name}: urn {u!r}: {e}")
    wrapper = MetadataChangeProposalWrapper.from_obj(json.loads(json.dumps(proposal)))
    if not isinstance(wrapper, MetadataChangeProposalWrapper) or not wrapper.validate():
        problems.append("MetadataChangeProposalWrapper.from_obj did not give a valid wrapper")
    return problems


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        requests = json.load(f)
    errors = []
    seen = []
    for i, request in enumerate(requests):
        action, body = request.get("action"), request.get("body")
        if action == "ingestProposalBatch":
            proposals = body.get("proposals") if isinstance(body, dict) else None
        elif action == "ingestProposal":
            proposals = [body.get("proposal")] if isinstance(body, dict) else None
        else:
            errors.append(f"request {i}: unknown action {action!r}")
            continue
        if not isinstance(proposals, list) or not proposals:
            errors.append(f"request {i}: no proposals in the body")
            continue
        if body.get("async") not in ("true", "false"):
            errors.append(f"request {i}: async must be the string 'true' or 'false'")
        for j, proposal in enumerate(proposals):
            try:
                problems = check(proposal)
            except Exception as e:  # noqa: BLE001 - the models refused it
                problems = [f"{type(e).__name__}: {e}"]
            where = f"request {i} proposal {j} ({proposal.get('entityUrn') if isinstance(proposal, dict) else '?'} {proposal.get('aspectName') if isinstance(proposal, dict) else '?'})"
            errors.extend(f"{where}: {p}" for p in problems)
            if isinstance(proposal, dict):
                seen.append([proposal.get("entityUrn"), proposal.get("aspectName")])
    json.dump({"proposals": len(seen), "errors": errors, "seen": seen}, sys.stdout)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
