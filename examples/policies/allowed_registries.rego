# Containers may only run images from the organisation's registries.
package main

import rego.v1

allowed_registries := ["registry.example.com/", "ghcr.io/example/"]

pod_spec := input.spec if input.kind == "Pod"

pod_spec := input.spec.template.spec if input.kind in {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}

pod_spec := input.spec.jobTemplate.spec.template.spec if input.kind == "CronJob"

containers contains c if some c in pod_spec.containers

containers contains c if some c in pod_spec.initContainers

violation contains {
	"msg": sprintf("%s/%s: container %q uses image %q from a registry that is not allowed", [input.kind, input.metadata.name, c.name, c.image]),
	"id": "allowed-registries",
	"severity": "high",
} if {
	some c in containers
	not allowed(c.image)
}

allowed(image) if {
	some prefix in allowed_registries
	startswith(image, prefix)
}
