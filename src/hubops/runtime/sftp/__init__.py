"""SFTP for catalog files: an asyncssh server in the runtime process (`serve --sftp-port`)."""
