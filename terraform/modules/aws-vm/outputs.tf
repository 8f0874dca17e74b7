output "public_ip" {
  description = "Elastic IP of the VM."
  value       = aws_eip.vm.public_ip
}

output "public_dns" {
  description = "AWS public DNS name of the Elastic IP."
  value       = aws_eip.vm.public_dns
}

output "instance_id" {
  description = "EC2 instance id."
  value       = aws_instance.vm.id
}

output "data_volume_id" {
  description = "The data volume (keep it to rebuild the VM without losing data)."
  value       = aws_ebs_volume.data.id
}

output "ssh_user" {
  description = "Login user of Debian's cloud images."
  value       = "admin"
}

output "ami_id" {
  description = "The Debian 12 AMI the VM was built from."
  value       = data.aws_ami.debian12.id
}
