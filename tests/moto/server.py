"""moto in server mode for tests/discovery_aws.rs, with one wire-format fix.

moto 5.2 answers AWS Config's BatchGetResourceConfig with its timestamps written as Python's
str(datetime) ("2026-12-03 18:41:41.427487+00:00"). AWS's JSON protocol (awsJson1_1) sends them
as epoch seconds, and the AWS SDK for Rust rightly refuses the former. This launcher rewrites
those fields to epoch seconds, as AWS sends them, and then runs moto's own server unchanged.

Usage: python server.py -H 127.0.0.1 -p PORT
"""

import json
import sys
from datetime import datetime

import moto.config.responses as responses
from moto.server import main

TIMESTAMPS = ("configurationItemCaptureTime", "resourceCreationTime", "configurationItemDeliveryTime")
_original = responses.ConfigResponse.batch_get_resource_config


def _epoch(value):
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).timestamp()
        except ValueError:
            return value
    return value


def batch_get_resource_config(self):
    answer = json.loads(_original(self))
    for item in answer.get("baseConfigurationItems", []):
        for key in TIMESTAMPS:
            if key in item:
                item[key] = _epoch(item[key])
    return json.dumps(answer)


responses.ConfigResponse.batch_get_resource_config = batch_get_resource_config

if __name__ == "__main__":
    main(sys.argv[1:])
