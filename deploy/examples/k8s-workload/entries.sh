#!/bin/sh
# Registration entries for deploy/examples/k8s-workload, run where kubectl reaches the cluster.
# Agents on every node share one node alias, so one entry per workload covers all nodes:
#   1. each node's join token also gives its agent the alias spiffe://example.org/k8s/nodes
#      (--spiffe-id), and goes into the Secret the agent DaemonSet reads it from;
#   2. the workload entry is granted to the alias and selects the pod by namespace and service
#      account, exactly as a SPIRE k8s entry (k8s:ns, k8s:sa) would.
set -eu
server() { kubectl -n sigil exec sigil-server-0 -- sigil server "$@"; }

# 1. Trust bundle and join tokens for the agents (once per cluster / per new node).
server bundle show --format pem > bundle.pem
kubectl -n sigil create configmap sigil-bundle --from-file=bundle.pem --dry-run=client -o yaml | kubectl apply -f -
args=""
for node in $(kubectl get nodes -o jsonpath='{.items[*].metadata.name}'); do
  token=$(server token generate --ttl 1h --spiffe-id spiffe://example.org/k8s/nodes --output json | sed -n 's/.*"value": *"\([^"]*\)".*/\1/p')
  args="$args --from-literal=$node=$token"
done
kubectl -n sigil create secret generic sigil-agent-join-tokens $args --dry-run=client -o yaml | kubectl apply -f -

# 2. The workload's identity: namespace demo, service account demo-app.
server entry create \
  --parent-id spiffe://example.org/k8s/nodes \
  --spiffe-id spiffe://example.org/ns/demo/sa/demo-app \
  --selector k8s:ns:demo \
  --selector k8s:sa:demo-app
