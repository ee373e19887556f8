package main

import rego.v1

test_docker_hub_image_denied if {
	count(violation) == 1 with input as {"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "a", "image": "nginx:1.27"}]}}
}

test_init_container_checked if {
	count(violation) == 1 with input as {"kind": "Deployment", "metadata": {"name": "d"}, "spec": {"template": {"spec": {
		"initContainers": [{"name": "i", "image": "busybox"}],
		"containers": [{"name": "a", "image": "registry.example.com/shop/web:1.0"}],
	}}}}
}

test_allowed_registry_passes if {
	count(violation) == 0 with input as {"kind": "CronJob", "metadata": {"name": "c"}, "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "ghcr.io/example/job:2"}]}}}}}}
}
