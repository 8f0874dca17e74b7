module "inventory" {
  source = "../../modules/ansible-inventory"

  host                 = var.host
  ssh_user             = var.ssh_user
  ssh_port             = var.ssh_port
  ssh_private_key_file = var.ssh_private_key_file
  public_hostname      = var.public_hostname
  data_dir             = var.data_dir
}

# Written with the built-in terraform_data (no provider to download); rewritten
# whenever the inventory changes.
resource "terraform_data" "inventory_file" {
  triggers_replace = [module.inventory.inventory_yaml, var.inventory_path]

  provisioner "local-exec" {
    command = "mkdir -p \"$(dirname \"$INVENTORY_PATH\")\" && printf '%s' \"$INVENTORY\" > \"$INVENTORY_PATH\""
    environment = {
      INVENTORY      = module.inventory.inventory_yaml
      INVENTORY_PATH = abspath(var.inventory_path)
    }
  }
}
