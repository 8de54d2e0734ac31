"""Credentials other than an identity provider's JWT: API keys and
short-lived tokens (TrueNAS's `auth.generate_token`), what they prove, and
how the authorizer checks them.

    shapes         what a client sent (Authorization header or ?auth_token=),
                   told apart by shape before anything is read
    hashing        the keyed hash that is all the table keeps of a secret
    table          the credentials table (DynamoDB): keys, tokens, nothing else
    keys           POST/GET/DELETE /api_keys: mint, list, revoke
    tokens         POST /auth/tokens: mint
    authenticator  a presented credential -> the Caller it proves, at most one
                   read, remembered up to 60 s in the function's container

Nothing here imports Chalice: each face reads the credential off its wire
(chalicelib.faces.auth) and hands it here.
"""
