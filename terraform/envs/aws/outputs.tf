output "public_ip" {
  description = "Elastic IP of the VM."
  value       = module.vm.public_ip
}

output "landing_url" {
  description = "The platform's landing page (after ansible-playbook site.yml)."
  value       = "https://${module.inventory.public_hostname}/"
}

output "ssh_command" {
  description = "Log in for day-two work."
  value       = "ssh -i ${trimsuffix(var.ssh_public_key_file, ".pub")} ${module.vm.ssh_user}@${module.vm.public_ip}"
}

output "inventory_file" {
  description = "The inventory written for Ansible."
  value       = local_file.inventory.filename
}

output "next_step" {
  description = "What to run next."
  value       = "cd ../../../ansible && ansible-playbook site.yml"
}
