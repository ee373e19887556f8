package main

import rego.v1

test_labels_missing_denied if {
	count(deny) == 2 with input as {"kind": "Deployment", "metadata": {"name": "web"}}
}

test_one_label_missing_denied if {
	some m in deny with input as {"kind": "Service", "metadata": {"name": "web", "labels": {"team": "shop"}}}
	m.msg == "Service/web is missing required label \"app.kubernetes.io/name\""
}

test_labelled_allowed if {
	count(deny) == 0 with input as {"kind": "Deployment", "metadata": {"name": "web", "labels": {"team": "shop", "app.kubernetes.io/name": "web"}}}
}

test_other_kinds_ignored if {
	count(deny) == 0 with input as {"kind": "ConfigMap", "metadata": {"name": "c"}}
}
