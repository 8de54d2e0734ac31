"""Listing jobs: the TrueNAS query language (filters, options), the planner
that turns a query into DynamoDB index Queries, and signed paging tokens."""
