"""The TrueNAS face: JSON-RPC 2.0 over a WebSocket, as TrueNAS clients
(`midclt`, pytruenas, aiotruenas) speak it to the middleware, whose source
is the contract (src/middlewared/middlewared/api/base/server/ws_handler/rpc.py,
utils/limits.py, plugins/auth.py, service/core_service.py).

    jsonrpc          a frame read into a request (its size limits, its
                     errors), and the answer and error shapes
    session_methods  the methods of a session: core.set_options, core.ping,
                     auth.login_ex, auth.login_with_api_key,
                     auth.login_with_token, auth.generate_token,
                     auth.mechanism_choices, auth.me
    job_methods      jobs: any registered method called by name,
                     core.get_jobs, core.subscribe, core.job_wait,
                     core.job_abort, core.download, core.get_methods
    job_shape        a job as TrueNAS shows it; core.get_jobs's filters as ours
    notifications    an event as collection_update, or the answer to a call
                     that waited for its job's end
    endpoints        a message of a TrueNAS connection, from frame to answer

The connection's face is decided by its first message (chalicelib.faces.
sockets); its caller and session options live on its record in the watchers
table, like every face's connection.
"""
