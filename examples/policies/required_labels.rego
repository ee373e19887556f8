# Every workload and Service carries the labels the platform team relies on.
package main

import rego.v1

required_labels := {"app.kubernetes.io/name", "team"}

labelled_kinds := {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod", "Service"}

deny contains {
	"msg": sprintf("%s/%s is missing required label %q", [input.kind, input.metadata.name, label]),
	"id": "required-labels",
	"severity": "medium",
	"title": "Required labels missing",
} if {
	labelled_kinds[input.kind]
	some label in required_labels
	not input.metadata.labels[label]
}
