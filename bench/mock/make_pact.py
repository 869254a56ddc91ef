"""Writes the benchmark pact to stdout: 20 GET interactions, each answering a JSON body of
about 1 KB full of matchers (types, regexes, integers, decimals, dates, arrays with minimum
sizes), in the V3 pact format both Accord and the official tools read."""

import json


def interaction(n):
    body = {
        "id": n,
        "name": f"resource number {n}",
        "status": "active",
        "createdAt": "2024-05-01T10:00:00",
        "updatedOn": "2024-05-02",
        "price": 12.5 + n,
        "count": n * 3,
        "enabled": True,
        "owner": {"id": 1000 + n, "email": f"owner{n}@example.com", "name": "Ada Lovelace"},
        "tags": ["alpha", "beta", "gamma"],
        "lines": [
            {"sku": f"SKU-{n}-{i}", "quantity": i + 1, "unitPrice": 3.25, "note": "handle with care"}
            for i in range(7)
        ],
        "links": {"self": f"/resources/{n}", "owner": f"/owners/{1000 + n}"},
    }
    rules = {
        "$.id": {"matchers": [{"match": "integer"}]},
        "$.name": {"matchers": [{"match": "type"}]},
        "$.status": {"matchers": [{"match": "regex", "regex": "^(active|inactive|archived)$"}]},
        "$.createdAt": {"matchers": [{"match": "datetime", "format": "yyyy-MM-dd'T'HH:mm:ss"}]},
        "$.updatedOn": {"matchers": [{"match": "date", "format": "yyyy-MM-dd"}]},
        "$.price": {"matchers": [{"match": "decimal"}]},
        "$.count": {"matchers": [{"match": "integer"}]},
        "$.enabled": {"matchers": [{"match": "type"}]},
        "$.owner": {"matchers": [{"match": "type"}]},
        "$.owner.email": {"matchers": [{"match": "regex", "regex": "^[^@]+@[^@]+$"}]},
        "$.tags": {"matchers": [{"match": "type", "min": 1}]},
        "$.lines": {"matchers": [{"match": "type", "min": 1}]},
        "$.lines[*].sku": {"matchers": [{"match": "regex", "regex": "^SKU-\\d+-\\d+$"}]},
        "$.lines[*].quantity": {"matchers": [{"match": "integer"}]},
        "$.lines[*].unitPrice": {"matchers": [{"match": "number"}]},
        "$.links.self": {"matchers": [{"match": "regex", "regex": "^/resources/\\d+$"}]},
    }
    return {
        "description": f"a request for resource {n}",
        "providerStates": [{"name": f"resource {n} exists", "params": {"id": n}}],
        "request": {
            "method": "GET",
            "path": f"/resources/{n}",
            "headers": {"Accept": "application/json"},
        },
        "response": {
            "status": 200,
            "headers": {"Content-Type": "application/json"},
            "body": body,
            "matchingRules": {"body": rules},
        },
    }


pact = {
    "consumer": {"name": "bench-consumer"},
    "provider": {"name": "bench-provider"},
    "interactions": [interaction(n) for n in range(1, 21)],
    "metadata": {"pactSpecification": {"version": "3.0.0"}},
}
print(json.dumps(pact, indent=2))
