# Provider-free: renders the Ansible inventory that site.yml uses as is.
locals {
  public_hostname = var.public_hostname != "" ? var.public_hostname : var.host

  inventory = {
    all = {
      children = {
        (var.group) = {
          hosts = {
            "mlops-vm" = {
              ansible_host                 = var.host
              ansible_port                 = var.ssh_port
              ansible_user                 = var.ssh_user
              ansible_ssh_private_key_file = var.ssh_private_key_file
              ansible_become               = true
              ansible_python_interpreter   = "/usr/bin/python3"
              mlops_public_hostname        = local.public_hostname
              mlops_data_dir               = var.data_dir
            }
          }
        }
      }
    }
  }
}
