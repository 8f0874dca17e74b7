module "vm" {
  source = "../../modules/aws-vm"

  name             = var.name
  instance_type    = var.instance_type
  root_volume_gb   = var.root_volume_gb
  data_volume_gb   = var.data_volume_gb
  allowed_cidrs    = var.allowed_cidrs
  public_web_cidrs = var.public_web_cidrs
  ssh_public_key   = trimspace(file(pathexpand(var.ssh_public_key_file)))
  tags             = var.tags
}

module "inventory" {
  source = "../../modules/ansible-inventory"

  host                 = module.vm.public_ip
  ssh_user             = module.vm.ssh_user
  ssh_private_key_file = trimsuffix(var.ssh_public_key_file, ".pub")
  public_hostname      = var.public_hostname
}

resource "local_file" "inventory" {
  filename        = var.inventory_path
  content         = module.inventory.inventory_yaml
  file_permission = "0644"
}
