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
  fan-out of n children n-squared. All or nothing as before, its stream
  records too (a cancelled transaction shows nothing in DynamoDB Streams):
  the seam runs each DynamoDB request under one lock.
- express_queue: at most EXPRESS_CONCURRENCY executions of a machine that
  cannot wait for a task token (the Express one) run at once, the others
  queue, as a Lambda concurrency limit queues invocations. Without it a
  10,000-child fan-out starts ~30,000 interpreter threads and runs out of
  memory. Such an execution never waits for another, so a queued one cannot
  block one that runs; executions that may wait (parents) start at once.
- switch: the interpreter runs thousands of threads: hand the GIL over every
  20 ms instead of 5 ms.
- serializer: resolves the aliases of each response member once per shape
  (moto looks every member of every response up through six providers).
- expressions: parses each DynamoDB update expression once, copies its tree
  without copy.deepcopy and walks it without recomputing class tests and
  processing maps at every node.
- itemsize: builds a DynamoDB item in linear time (moto re-adds the size of
  the whole item at every attribute it stores).
- gc: bigger, rarer rounds of the cyclic garbage collector.

Measured effects in docs/moto-at-scale.md; tests/bench/test_moto_speedups.py
checks that moto answers the same with and without them.
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
        streams: dict[str, int] = {}  # where each touched table's stream stood
        for entry in transact_items:
            operation, request = next(iter(entry.items()))
            key = _transaction_key(self, operation, request)
            if key is not None:
                current = self.get_item(request["TableName"], key)
                backups.append((request["TableName"], key, copy.deepcopy(current)))
                shard = self.get_table(request["TableName"]).stream_shard
                if shard is not None:
                    streams.setdefault(request["TableName"], len(shard.items))
        try:
            original(self, transact_items)
        except Exception:
            for table_name, key, item in reversed(backups):
                if item is None:
                    if self.get_item(table_name, key) is not None:
                        self.delete_item(table_name, key)
                else:
                    self.put_item(table_name, item.to_json()["Attributes"])
            # A cancelled transaction writes nothing, so DynamoDB Streams
            # shows nothing of it: moto's writes before the failed condition
            # and the restores above leave no record (no reader saw them:
            # the seam runs each request under one lock).
            for table_name, mark in streams.items():
                del self.get_table(table_name).stream_shard.items[mark:]
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
def gc():
    """Collect garbage in bigger, rarer rounds: the cyclic collector's default
    thresholds (700, 10, 10) make it run every few hundred allocations, and
    every so often scan the whole heap, which here holds every item and
    execution of the run (millions of objects at 10,000 children). Cycles
    are still collected (the short-lived ones, such as moto's expression
    trees with parent links, in the first generation); nothing else changes."""
    import gc as collector
    collector.set_threshold(*GC_THRESHOLDS)


GC_THRESHOLDS = (50_000, 20, 100)


@patch
def switch():
    """Hand the GIL over every 20 ms instead of 5 ms: fewer forced switches
    between the many runnable threads (process-wide, no semantic change)."""
    import sys
    sys.setswitchinterval(0.02)


@patch
def serializer():
    """Resolve each response member's aliases once. moto's response serializer
    looks every member of every structure up through six alias providers (a
    DynamoDB item of n attributes is n AttributeValue structures of ten members
    each). For a plain dict the aliases depend only on the member's name, its
    shape and the shape's parent (the providers look at nothing else of a dict),
    so they are computed once per (shape, parent, name); the lookup in the dict
    and the response transformers are moto's own. Anything else (objects, a
    custom picker) goes through moto's code."""
    from moto.core import serialize

    original = serialize.ResponseSerializer.get_value
    picker_type = serialize.XFormedAttributePicker
    providers = serialize.DEFAULT_ALIAS_PROVIDERS
    context_type = serialize.AttributePickerContext
    aliases: dict[tuple[int, int, str], tuple[Any, Any, tuple[str, ...] | None]] = {}

    def keys_for(picker: Any, shape: Any, parent: Any, key: str) -> tuple[str, ...] | None:
        entry = aliases.get((id(shape), id(parent), key))
        if entry is not None and entry[0] is shape and entry[1] is parent:
            return entry[2]
        # The providers read only the type of a dict (no Meta, class name "dict").
        found = tuple(picker.get_possible_keys(context_type(obj={}, key=key, shape=shape)))
        keys = None if any("." in k for k in found) else found  # dotted: moto's path walk
        if len(aliases) > 100_000:
            aliases.clear()
        aliases[(id(shape), id(parent), key)] = (shape, parent, keys)
        return keys

    def get_value(self: Any, value: Any, key: str, shape: Any) -> Any:
        picker = self._value_picker
        if type(value) is not dict or type(picker) is not picker_type or \
                picker.alias_providers is not providers:
            return original(self, value, key, shape)
        keys = keys_for(picker, shape, getattr(shape, "parent", None), key)
        if keys is None:
            return original(self, value, key, shape)
        found = None
        for possible in keys:
            if possible in value:
                found = value[possible]
                break
        if picker.response_transformers:
            key_path = f"{'.'.join(self.path)}.{key}"
            for transform_path, transform in picker.response_transformers.items():
                if key_path.endswith(transform_path):
                    return transform(found)
        return found

    serialize.ResponseSerializer.get_value = get_value


@patch
def expressions():
    """DynamoDB update expressions, as moto evaluates them on every UpdateItem
    (and each Update of a transaction): parse each expression string once (the
    tree is only read: the validator works on its own copy); copy that tree
    with a copier for its plain nodes instead of copy.deepcopy; and walk it
    with the node types' class checks cached (moto's nodes are ABCs, so every
    isinstance is a call into abc, and each of the ten validating passes
    rebuilds its map of node types at every node). Same passes, same order,
    same results."""
    import copy
    import functools

    from moto.dynamodb.parsing import ast_nodes, validators
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    original_make = UpdateExpressionParser.make.__func__  # type: ignore[attr-defined]
    parsed = functools.lru_cache(maxsize=4096)(
        lambda expression: original_make(UpdateExpressionParser, expression))

    def make(cls: Any, expression_str: Any) -> Any:
        if cls is not UpdateExpressionParser or not isinstance(expression_str, str):
            return original_make(cls, expression_str)
        return parsed(expression_str)

    UpdateExpressionParser.make = classmethod(make)  # type: ignore[method-assign,assignment]

    node_class = ast_nodes.Node
    plain_attributes = {"type", "children", "parent"}
    is_node = _TypeTest(lambda t: issubclass(t, node_class))

    def tree_copy(value: Any, memo: Any = None) -> Any:
        """copy.deepcopy for a parsed tree of plain nodes (only type, children
        and parent; children that are nodes or immutable scalars; no node
        reached twice); anything else goes to copy.deepcopy."""
        if memo is None and is_node(type(value)) and value.parent is None:
            seen: set[int] = set()
            if _plain_tree(value, is_node, plain_attributes, seen):
                return _copy_tree(value, None, is_node)
        return copy.deepcopy(value, memo)

    validators.deepcopy = tree_copy  # type: ignore[attr-defined]

    traverser = ast_nodes.DepthFirstTraverser
    base_pre = traverser.pre_processing_of_child
    base_process = traverser.process
    base_walk = (traverser.nodes_to_be_processed, traverser.traverse_node_recursively)
    original_traverse = traverser.traverse
    # (traverser class, node class) -> index of its processor in the map, or -1
    dispatch: dict[tuple[type, type], int] = {}

    def traverse(self: Any, node: Any) -> Any:
        """moto's traverse_node_recursively, with what it recomputes at every
        node (the processing map, the node-type tests) computed once."""
        cls = type(self)
        if (cls.nodes_to_be_processed, cls.traverse_node_recursively) != base_walk:
            return original_traverse(self, node)
        handlers = list(self._processing_map().items())
        kinds = tuple(kind for kind, _ in handlers)  # nodes_to_be_processed()
        pre = None if cls.pre_processing_of_child is base_pre else self.pre_processing_of_child
        own_process = None if cls.process is base_process else self.process

        def handler_for(kind: type) -> int:
            index = dispatch.get((cls, kind))
            if index is None:
                index = -1
                if issubclass(kind, kinds):  # isinstance(node, nodes_to_be_processed())
                    # process(): the first class in the map the node is an instance of
                    index = next(n for n, (k, _) in enumerate(handlers) if issubclass(kind, k))
                dispatch[(cls, kind)] = index
            return index

        def walk(node: Any, child_id: int) -> Any:
            if is_node(type(node)):
                parent_node = node.parent
                if node.children is not None:
                    for i, child_node in enumerate(node.children):
                        if pre is not None:
                            pre(node, i)
                        walk(child_node, i)
                index = handler_for(type(node))
                if index >= 0:
                    node = own_process(node) if own_process else handlers[index][1](node)
                    node.parent = parent_node
                    if parent_node:
                        parent_node.children[child_id] = node
            return node

        return walk(node, -1)

    traverser.traverse = traverse

    expression_class = ast_nodes.Expression
    function_class = ast_nodes.UpdateExpressionFunction
    descends = _TypeTest(lambda t: issubclass(t, (expression_class, function_class)))

    def find_clauses(self: Any, clause_types: Any) -> list[Any]:
        clauses = []
        for child in self.children or []:
            if type(child) in clause_types:
                clauses.append(child)
            elif descends(type(child)):
                clauses.extend(child.find_clauses(clause_types))
        return clauses

    node_class.find_clauses = find_clauses


class _TypeTest:
    """A class test on types, remembered per type. moto's parsing classes are
    ABCs that nothing registers virtual subclasses with, so isinstance(x, C)
    is issubclass(type(x), C), and it never changes for a type."""

    def __init__(self, test: Callable[[type], bool]) -> None:
        self._test = test
        self._known: dict[type, bool] = {}

    def __call__(self, kind: type) -> bool:
        known = self._known.get(kind)
        if known is None:
            known = self._known[kind] = self._test(kind)
        return known


def _plain_tree(node: Any, is_node: _TypeTest, plain: set[str], seen: set[int]) -> bool:
    if id(node) in seen or node.__dict__.keys() != plain:
        return False
    seen.add(id(node))
    for child in node.children or ():
        if is_node(type(child)):
            if child.parent is not node or not _plain_tree(child, is_node, plain, seen):
                return False
        elif type(child) not in (str, int, bool, float, type(None)):
            return False
    return True


def _copy_tree(node: Any, parent: Any, is_node: _TypeTest) -> Any:
    new = object.__new__(type(node))
    new.type = node.type
    new.parent = parent
    children = node.children
    new.children = None if children is None else [
        _copy_tree(child, new, is_node) if is_node(type(child)) else child
        for child in children]
    return new


@patch
def itemsize():
    """Build a DynamoDB item in linear time. moto's item dict re-adds the size
    of everything already in it on every attribute it stores (to enforce the
    400 KB limit), so building an item of n attributes costs n-squared sizes:
    most of a BatchWriteItem's time. A new item (Item.__init__) keeps the
    running total instead: the same sizes, the same limit, checked at the same
    attribute; later writes to an item are moto's own."""
    from moto.dynamodb.models import dynamo_type
    from moto.dynamodb.models.utilities import bytesize

    item_class, limited, dynamo = (dynamo_type.Item, dynamo_type.LimitedSizeDict,
                                   dynamo_type.DynamoType)
    too_large = dynamo_type.ItemSizeTooLarge
    store = dict.__setitem__

    def init(self: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
        self.hash_key = hash_key
        self.range_key = range_key
        self.attrs = limited()
        total = 0
        for key, value in attrs.items():
            value = dynamo(value)
            size = value.size()
            if total + bytesize(key) + size > 405000:  # LimitedSizeDict's check
                raise too_large
            store(self.attrs, key, value)
            total += bytesize(str(key)) + size

    item_class.__init__ = init
