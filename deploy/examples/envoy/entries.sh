#!/bin/sh
# The registration entries this example needs, for a node whose agent attested with a join token.
# Envoy itself is the attested caller on the agent socket, so its entry selects the Envoy process
# (here by the user it runs as: the official image's `envoy`, uid 101), not the application behind it.
#
#   AGENT_ID=spiffe://example.org/sigil/agent/join_token/<token> ./entries.sh
set -eu
: "${AGENT_ID:?set AGENT_ID to the agent's SPIFFE ID (sigil server agent list)}"

sigil server entry create --parent-id "$AGENT_ID" \
    --spiffe-id spiffe://example.org/ns/default/sa/web --selector unix:uid:101

# The backend's own Envoy, on its node, for the egress side of this example:
# sigil server entry create --parent-id "$BACKEND_AGENT_ID" \
#     --spiffe-id spiffe://example.org/ns/default/sa/backend --selector unix:uid:101
