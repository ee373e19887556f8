# Services are exposed through the ingress controller, not node ports.
package main

import rego.v1

deny_nodeport contains {
	"msg": sprintf("Service %s is of type NodePort: it opens a port on every node", [input.metadata.name]),
	"id": "no-nodeport",
	"severity": "high",
} if {
	input.kind == "Service"
	input.spec.type == "NodePort"
}

warn_loadbalancer contains sprintf("Service %s is of type LoadBalancer: make sure it should be public", [input.metadata.name]) if {
	input.kind == "Service"
	input.spec.type == "LoadBalancer"
}
