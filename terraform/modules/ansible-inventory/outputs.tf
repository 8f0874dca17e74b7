output "inventory_yaml" {
  description = "The inventory as YAML, ready to be written to ansible/inventory/hosts.yml."
  value       = "# Written by Terraform (terraform/modules/ansible-inventory); edits are overwritten.\n${yamlencode(local.inventory)}"
}

output "public_hostname" {
  description = "The host name the platform answers to."
  value       = local.public_hostname
}
