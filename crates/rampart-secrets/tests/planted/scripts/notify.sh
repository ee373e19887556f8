#!/bin/bash
WEBHOOK="https://hooks.slack.com/services/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"
curl -X POST -H 'Content-type: application/json' --data '{"text":"deployed"}' "$WEBHOOK"
curl -u admin:hgpE8ywOUq83JaqzTmjDrW https://jenkins.example.com/job/orders/build
