package main

import rego.v1

test_nodeport_denied if {
	count(deny_nodeport) == 1 with input as {"kind": "Service", "metadata": {"name": "s"}, "spec": {"type": "NodePort"}}
}

test_loadbalancer_warned if {
	count(deny_nodeport) == 0 with input as {"kind": "Service", "metadata": {"name": "s"}, "spec": {"type": "LoadBalancer"}}
	count(warn_loadbalancer) == 1 with input as {"kind": "Service", "metadata": {"name": "s"}, "spec": {"type": "LoadBalancer"}}
}

test_clusterip_passes if {
	count(deny_nodeport) == 0 with input as {"kind": "Service", "metadata": {"name": "s"}, "spec": {"type": "ClusterIP"}}
	count(warn_loadbalancer) == 0 with input as {"kind": "Service", "metadata": {"name": "s"}}
}
