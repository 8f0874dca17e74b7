output "inventory_yaml" {
  description = "The inventory written for Ansible."
  value       = module.inventory.inventory_yaml
}

output "inventory_file" {
  description = "Where it was written."
  value       = abspath(var.inventory_path)
}

output "landing_url" {
  description = "The platform's landing page (after ansible-playbook site.yml)."
  value       = "https://${module.inventory.public_hostname}/"
}

output "next_step" {
  description = "What to run next."
  value       = "cd ../../../ansible && ansible-playbook site.yml"
}
