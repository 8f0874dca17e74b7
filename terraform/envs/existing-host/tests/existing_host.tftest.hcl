variables {
  host           = "198.51.100.20"
  inventory_path = "./.terraform/test-inventory/hosts.yml"
}

run "writes_the_inventory_file" {
  command = apply

  assert {
    condition     = yamldecode(output.inventory_yaml).all.children.mlops.hosts["mlops-vm"].ansible_host == "198.51.100.20"
    error_message = "the inventory must point at the host"
  }
  assert {
    condition     = yamldecode(file(output.inventory_file)) == yamldecode(output.inventory_yaml)
    error_message = "the file on disk must be the rendered inventory"
  }
  assert {
    condition     = output.landing_url == "https://198.51.100.20/"
    error_message = "the landing URL must use https and the host"
  }
}
