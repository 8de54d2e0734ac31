"""AWS list prices the cost model uses: us-east-1, on-demand, no free tier,
no volume discounts, as published on the pages below, read 2026-11.

Each price is per one unit (a request, a GB-second, a request unit) so the
model multiplies counts by prices directly.
"""

from __future__ import annotations

from dataclasses import dataclass

PRICES_DATE = "2026-11"
REGION = "us-east-1"


@dataclass(frozen=True)
class Price:
    dollars: float  # per one unit
    unit: str
    published_as: str
    source: str


API_GATEWAY_REST_REQUEST = Price(
    3.50 / 1e6, "request", "$3.50 per million REST API calls (first 333 million a month)",
    "https://aws.amazon.com/api-gateway/pricing/")
LAMBDA_REQUEST = Price(
    0.20 / 1e6, "invocation", "$0.20 per million requests",
    "https://aws.amazon.com/lambda/pricing/")
LAMBDA_GB_SECOND = Price(
    0.0000166667, "GB-second", "$0.0000166667 per GB-second (x86)",
    "https://aws.amazon.com/lambda/pricing/")
DYNAMODB_WRITE_UNIT = Price(
    0.625 / 1e6, "write request unit", "$0.625 per million write request units (1 KB each)",
    "https://aws.amazon.com/dynamodb/pricing/on-demand/")
DYNAMODB_READ_UNIT = Price(
    0.125 / 1e6, "read request unit",
    "$0.125 per million read request units (4 KB strongly consistent, 8 KB eventually)",
    "https://aws.amazon.com/dynamodb/pricing/on-demand/")
SFN_STANDARD_TRANSITION = Price(
    0.025 / 1000, "state transition", "$0.025 per 1,000 state transitions (Standard)",
    "https://aws.amazon.com/step-functions/pricing/")
SFN_EXPRESS_REQUEST = Price(
    1.00 / 1e6, "execution", "$1.00 per million requests (Express)",
    "https://aws.amazon.com/step-functions/pricing/")
SFN_EXPRESS_GB_SECOND = Price(
    0.00001667, "GB-second", "$0.00001667 per GB-second (Express, first 1,000 h)",
    "https://aws.amazon.com/step-functions/pricing/")
S3_PUT = Price(0.005 / 1000, "PUT/POST/LIST request", "$0.005 per 1,000 PUT, COPY, POST, LIST",
               "https://aws.amazon.com/s3/pricing/")
S3_GET = Price(0.0004 / 1000, "GET request", "$0.0004 per 1,000 GET, SELECT and others",
               "https://aws.amazon.com/s3/pricing/")

ALL = {
    "API Gateway REST request": API_GATEWAY_REST_REQUEST,
    "Lambda request": LAMBDA_REQUEST,
    "Lambda duration": LAMBDA_GB_SECOND,
    "DynamoDB write request unit": DYNAMODB_WRITE_UNIT,
    "DynamoDB read request unit": DYNAMODB_READ_UNIT,
    "Step Functions Standard transition": SFN_STANDARD_TRANSITION,
    "Step Functions Express request": SFN_EXPRESS_REQUEST,
    "Step Functions Express duration": SFN_EXPRESS_GB_SECOND,
    "S3 PUT": S3_PUT,
    "S3 GET": S3_GET,
}

# Assumptions the counts cannot give (stated in the report).
API_MEMORY_GB = 128 / 1024  # Chalice's default for the API handler
WORKER_MEMORY_GB = 256 / 1024  # .chalice/config.json: lambda_functions.worker
API_BILLED_SECONDS = 0.050  # ASSUMED per warm API request (1-2 AWS calls + Chalice)
WORKER_BILLED_SECONDS = 0.100  # ASSUMED per job: claim + progress + finish, not the work
EXPRESS_MEMORY_GB = 64 / 1024  # Express bills memory in 64 MB steps; a one-task machine

# API Gateway WebSocket APIs (issue 17: job events).
API_GATEWAY_WS_MESSAGE = Price(
    1.00 / 1e6, "message (32 KB units)",
    "$1.00 per million messages sent or received (first billion a month; 32 KB increments)",
    "https://aws.amazon.com/api-gateway/pricing/")
API_GATEWAY_WS_MINUTE = Price(
    0.25 / 1e6, "connection minute", "$0.25 per million connection minutes",
    "https://aws.amazon.com/api-gateway/pricing/")
ALL["API Gateway WebSocket message"] = API_GATEWAY_WS_MESSAGE
ALL["API Gateway WebSocket connection minute"] = API_GATEWAY_WS_MINUTE
# DynamoDB Streams: reads by a Lambda event source mapping are free
# (https://aws.amazon.com/dynamodb/pricing/on-demand/, "DynamoDB Streams").
