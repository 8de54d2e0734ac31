"""The HTTP boundary: parsing requests, rendering jobs, mapping errors.
The only part of chalicelib that knows Chalice."""
