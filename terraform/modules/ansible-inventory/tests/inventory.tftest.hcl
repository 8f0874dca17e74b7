variables {
  host                 = "203.0.113.10"
  ssh_private_key_file = "~/.ssh/id_ed25519"
}

run "renders_a_valid_inventory" {
  command = apply

  assert {
    condition     = yamldecode(output.inventory_yaml).all.children.mlops.hosts["mlops-vm"].ansible_host == "203.0.113.10"
    error_message = "ansible_host must be the host variable"
  }
  assert {
    condition     = yamldecode(output.inventory_yaml).all.children.mlops.hosts["mlops-vm"].mlops_public_hostname == "203.0.113.10"
    error_message = "public_hostname must default to host"
  }
  assert {
    condition     = yamldecode(output.inventory_yaml).all.children.mlops.hosts["mlops-vm"].mlops_data_dir == "/var/lib/mlops"
    error_message = "data_dir default must reach the inventory"
  }
  assert {
    condition     = yamldecode(output.inventory_yaml).all.children.mlops.hosts["mlops-vm"].ansible_become == true
    error_message = "the playbook needs become"
  }
  assert {
    condition     = yamldecode(output.inventory_yaml).all.children.mlops.hosts["mlops-vm"].ansible_port == 22
    error_message = "ssh_port must default to 22"
  }
}

run "public_hostname_overrides" {
  command = apply
  variables {
    public_hostname = "mlops.example.org"
    ssh_user        = "debian"
    ssh_port        = 2222
    data_dir        = "/srv/mlops"
  }

  assert {
    condition     = yamldecode(output.inventory_yaml).all.children.mlops.hosts["mlops-vm"].mlops_public_hostname == "mlops.example.org"
    error_message = "public_hostname must reach the inventory"
  }
  assert {
    condition     = yamldecode(output.inventory_yaml).all.children.mlops.hosts["mlops-vm"].ansible_user == "debian"
    error_message = "ssh_user must reach the inventory"
  }
  assert {
    condition     = yamldecode(output.inventory_yaml).all.children.mlops.hosts["mlops-vm"].ansible_port == 2222
    error_message = "ssh_port must reach the inventory"
  }
}

run "rejects_a_port_out_of_range" {
  command = plan
  variables {
    ssh_port = 65536
  }
  expect_failures = [var.ssh_port]
}

run "rejects_a_fractional_port" {
  command = plan
  variables {
    ssh_port = 22.5
  }
  expect_failures = [var.ssh_port]
}

run "rejects_empty_host" {
  command = plan
  variables {
    host = " "
  }
  expect_failures = [var.host]
}

run "rejects_public_key_as_private_key" {
  command = plan
  variables {
    ssh_private_key_file = "~/.ssh/id_ed25519.pub"
  }
  expect_failures = [var.ssh_private_key_file]
}

run "rejects_url_as_hostname" {
  command = plan
  variables {
    public_hostname = "https://mlops.example.org"
  }
  expect_failures = [var.public_hostname]
}

run "rejects_relative_data_dir" {
  command = plan
  variables {
    data_dir = "var/lib/mlops"
  }
  expect_failures = [var.data_dir]
}

run "rejects_bad_user" {
  command = plan
  variables {
    ssh_user = "Root User"
  }
  expect_failures = [var.ssh_user]
}
