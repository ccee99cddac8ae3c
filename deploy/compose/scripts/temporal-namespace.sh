#!/bin/sh
# The application's namespace and its search attributes (devstack/search_attributes.py).
set -eu
until temporal operator cluster health --address "$TEMPORAL_ADDRESS"; do sleep 2; done
temporal operator namespace describe --namespace "$NAMESPACE" --address "$TEMPORAL_ADDRESS" \
    || temporal operator namespace create --namespace "$NAMESPACE" --retention 3650d --address "$TEMPORAL_ADDRESS"
for name in InitiativeId SiteId Region Cohort RolloutStage; do
    temporal operator search-attribute create --namespace "$NAMESPACE" --address "$TEMPORAL_ADDRESS" \
        --name "$name" --type Keyword || true
done
