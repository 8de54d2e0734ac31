"""Running the job API without AWS: moto stands in, the real state machine
definition executes, and the worker Lambda runs in this process.
Not deployed (Chalice packages only app.py and chalicelib/)."""
