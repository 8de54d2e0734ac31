"""Job events: every change of a job record, pushed to the watchers who may
see it (issue 17).

    changes      a DynamoDB stream record -> one JobEvent (added, changed with
                 the public fields that moved, removed), or none
    watchers     the watchers table: connections and their subscriptions
    subscribing  connect, authenticate, subscribe (with a gap-free snapshot),
                 unsubscribe, disconnect: what every face's socket calls
    delivery     a batch of stream records -> one read of each tenant's
                 subscriptions, the job as each watcher may see it, rendered
                 by the connection's face, one send per watcher
    sender       API Gateway's management API (post to a connection; a gone
                 one is forgotten at the first failed send)

The pipeline knows nothing of wire formats: each connection names its face,
and the face's renderer (handed in by app.py) turns a Delivery into text.
"""
