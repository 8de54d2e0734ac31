"""Speed-ups for moto 5.2.5's Step Functions, so thousands of executions run
in one process (a 10,000-child fan-out; measured in docs/moto-at-scale.md).

Each is a monkeypatch applied from here, never an edit of site-packages, and
none changes what an execution does; `install()` applies them once:

- warm: builds moto's lazily built, unlocked per-service caches before a
  burst of threads races to build them.
- parsecache: parses each state machine definition once (moto re-parses it
  with ANTLR for every execution), and gives each parse its own scope stack:
  moto keeps it on the class, shared by every thread, so two executions
  starting together could crash one of them (IndexError), leaving it
  RUNNING for ever. That part is a fix, not only a speed-up.
- jsonpathcache: parses each JSONPath once (moto builds a PLY parser, ~1 ms,
  on every path it evaluates).
- clientcache: one boto3 client per (region, service) for the interpreter's
  own calls (moto builds one, ~4 ms, per Lambda invoke).
- index: finds an execution by name through a dict, and sends a task token
  to the execution that issued it, where moto scans every execution.
- transactions: a DynamoDB transaction backs up only the items it touches;
  moto deep-copies every table it touches, so each child's finish (a
  two-item transaction) cost time in proportion to the whole table, and a
  fan-out of n children n-squared. All or nothing as before: the seam runs
  each DynamoDB request under one lock.
- express_queue: at most EXPRESS_CONCURRENCY executions of a machine that
  cannot wait for a task token (the Express one) run at once, the others
  queue, as a Lambda concurrency limit queues invocations. Without it a
  10,000-child fan-out starts ~30,000 interpreter threads and runs out of
  memory. Such an execution never waits for another, so a queued one cannot
  block one that runs; executions that may wait (parents) start at once.
- switch: the interpreter runs thousands of threads: hand the GIL over every
  20 ms instead of 5 ms.
"""
from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

PATCHES: dict[str, Callable[[], None]] = {}
_applied = False
_lock = threading.Lock()


def install() -> None:
    """Apply every patch, once per process."""
    global _applied
    with _lock:
        if _applied:
            return
        for apply in PATCHES.values():
            apply()
        _applied = True


def patch(fn: Callable[[], None]) -> Callable[[], None]:
    PATCHES[fn.__name__] = fn
    return fn


@patch
def warm():
    """Build moto's lazily built, unlocked caches (botocore service model and
    werkzeug URL map per service) once, before a burst of threads each builds them."""
    from moto.core.routing import get_service_router
    from moto.core.utils import get_service_model
    for service in ("lambda", "dynamodb", "stepfunctions"):
        get_service_model(service)
        router = get_service_router(service)
        model = router._service_model
        for protocol in model.metadata.get("protocols") or [model.protocol]:
            with contextlib.suppress(Exception):
                router._get_router(protocol)


@patch
def parsecache():
    """Parse each definition's ANTLR tree once (the tree is only read afterwards);
    still build a fresh program (Preprocessor) per execution. Also gives each
    Preprocessor its own scope stack: moto keeps it in a class attribute shared by
    all threads, so concurrent parses can crash an execution (IndexError), leaving
    it RUNNING for ever."""
    from moto.stepfunctions.parser.asl.parse import asl_parser
    from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor

    original_init = Preprocessor.__init__

    def init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        self._query_language_per_scope = []

    Preprocessor.__init__ = init
    original_parse = asl_parser.AmazonStateLanguageParser.parse
    trees: dict[str, object] = {}
    lock = threading.Lock()

    def parse(definition):
        tree = trees.get(definition)
        if tree is None:
            with lock:
                tree = trees.get(definition)
                if tree is None:
                    _, tree = original_parse(definition)  # raises on a bad definition
                    _freeze_text(tree)
                    trees[definition] = tree
        return Preprocessor().visit(tree), tree

    asl_parser.AmazonStateLanguageParser.parse = staticmethod(parse)


def _freeze_text(tree):
    """The cached tree never changes: compute each rule node's getText() once
    (the Preprocessor calls it on the whole program for every execution)."""
    from antlr4 import ParserRuleContext
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ParserRuleContext):
            text = node.getText()
            node.getText = lambda text=text: text
            stack.extend(node.children or ())


@patch
def jsonpathcache():
    """Parse each JSONPath string once: moto calls jsonpath_ng's parse (which
    builds a new PLY parser, ~1 ms) on every path evaluation. The parsed path
    objects are not changed by find/update_or_create."""
    import functools

    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.utils import json_path
    for module in (json_path, result_path):
        module.parse = functools.lru_cache(maxsize=4096)(module.parse)


@patch
def clientcache():
    """One boto3 client per (region, service) for the interpreter's service calls
    (moto builds a new client, ~4 ms, for every Lambda invoke). Clients are
    thread-safe and built with the same fixed config and fake keys every time."""
    import sys

    from moto.core.models import botocore_stubber
    from moto.stepfunctions.parser.asl.utils import boto_client as bc

    original = bc.boto_client_for
    clients: dict = {}
    lock = threading.Lock()

    def boto_client_for(region, service, state_credentials=None):
        key = (region, service, botocore_stubber.enabled)
        client = clients.get(key)
        if client is None:
            with lock:
                client = clients.get(key) or original(region, service, state_credentials)
                clients[key] = client
        return client

    for module in list(sys.modules.values()):
        if (getattr(module, "__name__", "") or "").startswith("moto.stepfunctions") and \
                getattr(module, "boto_client_for", None) is original:
            module.boto_client_for = boto_client_for


@patch
def index():
    """Find executions by name within their state machine through a dict, instead
    of moto's linear scans on every start (name idempotency check), describe,
    history and describe_state_machine_for_execution; and route send_task_* to
    the pool that issued the token instead of scanning every execution.
    Misses fall back to moto's own code, so errors are moto's."""
    from moto.stepfunctions.exceptions import ExecutionDoesNotExist
    from moto.stepfunctions.models import StateMachine, StepFunctionBackend
    from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackPoolManager
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    class Index(dict):
        """name -> execution; moto deepcopies a state machine (minus its executions)
        on every start, so the copy gets an empty index of its own."""
        indexed = 0

        def __deepcopy__(self, memo):
            return Index()

    def by_name(sm) -> dict:
        idx = sm.__dict__.get("_exec_by_name")
        if idx is None:
            idx = sm.__dict__["_exec_by_name"] = Index()
        execs = sm.executions  # append-only: catch up with what was appended since
        for e in execs[idx.indexed:]:
            idx.setdefault(e.name, e)
        idx.indexed = len(execs)
        return idx

    def idempotency(self, name, execution_input):
        execution = by_name(self).get(name)
        if execution is None:
            return None
        return original_idem(self, name, execution_input)  # one match: moto's own rules
    original_idem = StateMachine._handle_name_input_idempotency
    StateMachine._handle_name_input_idempotency = idempotency

    def find(self, execution_arn):
        self._validate_execution_arn(execution_arn)
        sm = self._get_state_machine_for_execution(execution_arn)
        e = by_name(sm).get(execution_arn.split(":")[7])
        if e is None or e.execution_arn != execution_arn:
            raise ExecutionDoesNotExist("Execution Does Not Exist: '" + execution_arn + "'")
        return sm, e

    def describe_execution(self, execution_arn):
        return find(self, execution_arn)[1]
    StepFunctionBackend.describe_execution = describe_execution

    original_dsfe = StepFunctionBackend.describe_state_machine_for_execution

    def describe_state_machine_for_execution(self, execution_arn):
        try:
            return find(self, execution_arn)[0]
        except Exception:
            return original_dsfe(self, execution_arn)  # moto's error
    StepFunctionBackend.describe_state_machine_for_execution = describe_state_machine_for_execution

    # Task tokens: remember which execution's pool issued each one.
    owners: dict = {}
    for name in ("add", "add_activity_task"):
        original = getattr(CallbackPoolManager, name)

        def wrapper(self, callback_id, *a, _original=original, **k):
            endpoint = _original(self, callback_id, *a, **k)
            owners[callback_id] = self
            return endpoint
        setattr(CallbackPoolManager, name, wrapper)

    original_env = ExecutionWorker._get_evaluation_environment

    def get_env(self):
        env = original_env(self)
        env.callback_pool_manager._owner_execution = self._execution_communication.execution
        return env
    ExecutionWorker._get_evaluation_environment = get_env

    # moto finds a token's execution by scanning every execution: scan only
    # the one that issued it (per thread, so concurrent sends never mix).
    scan_only = threading.local()
    original_get = StepFunctionsParserBackend._get_executions

    def get_executions(self, execution_status=None):
        execution = getattr(scan_only, "execution", None)
        if execution is None:
            return original_get(self, execution_status)
        return [execution] if execution_status in (None, execution.status) else []
    StepFunctionsParserBackend._get_executions = get_executions

    def narrowed(method):
        original = getattr(StepFunctionsParserBackend, method)

        def send(self, task_token, *a, **k):
            pool = owners.get(task_token)
            scan_only.execution = getattr(pool, "_owner_execution", None)
            try:
                return original(self, task_token, *a, **k)
            finally:
                scan_only.execution = None
        setattr(StepFunctionsParserBackend, method, send)

    for method in ("send_task_success", "send_task_heartbeat", "send_task_failure"):
        narrowed(method)


@patch
def transactions():
    import copy

    from moto.dynamodb import models
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    class TablesNotCopied:
        """moto.dynamodb.models' `copy`, except that a Table is not deep-copied
        (only transact_write_items copies whole tables, for its rollback)."""

        def __getattr__(self, name: str) -> Any:
            return getattr(copy, name)

        @staticmethod
        def deepcopy(value: Any, memo: Any = None) -> Any:
            return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    models.copy = TablesNotCopied()  # type: ignore[assignment]
    original = DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        backups = []
        for entry in transact_items:
            operation, request = next(iter(entry.items()))
            key = _transaction_key(self, operation, request)
            if key is not None:
                current = self.get_item(request["TableName"], key)
                backups.append((request["TableName"], key, copy.deepcopy(current)))
        try:
            original(self, transact_items)
        except Exception:
            for table_name, key, item in reversed(backups):
                if item is None:
                    if self.get_item(table_name, key) is not None:
                        self.delete_item(table_name, key)
                else:
                    self.put_item(table_name, item.to_json()["Attributes"])
            raise

    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


def _transaction_key(backend: Any, operation: str, request: dict[str, Any]) -> Any:
    try:
        if operation != "Put":
            return request["Key"]
        table = backend.get_table(request["TableName"])
        key = {table.hash_key_attr: request["Item"][table.hash_key_attr]}
        if table.range_key_attr is not None:
            key[table.range_key_attr] = request["Item"][table.range_key_attr]
        return key
    except Exception:
        return None  # moto itself rejects the request


EXPRESS_CONCURRENCY = 64


@patch
def express_queue():
    import queue

    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    waiting: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()

    def serve() -> None:
        while True:
            run = waiting.get()
            with contextlib.suppress(Exception):  # as moto's own thread would end
                run()

    for n in range(EXPRESS_CONCURRENCY):
        threading.Thread(target=serve, name=f"express-{n}", daemon=True).start()
    original = ExecutionWorker.start

    def start(self: Any) -> None:
        # (moto records every machine as STANDARD: tell them by what they may do.)
        if ".waitForTaskToken" not in self._evaluation_details.state_machine_details.definition:
            waiting.put(self._execution_logic)
        else:
            original(self)

    ExecutionWorker.start = start  # type: ignore[method-assign]


@patch
def switch():
    """Hand the GIL over every 20 ms instead of 5 ms: fewer forced switches
    between the many runnable threads (process-wide, no semantic change)."""
    import sys
    sys.setswitchinterval(0.02)
